"""HAProxy alerts, from HAProxy's built-in Prometheus exporter.

They read the backends components/haproxy/cfg.py generates. In a healthy
deployment most of them have no active server, by design: ``no_master`` never
has one, ``redis_master_<i>`` and ``sentinels_name_<i>`` of every node that is
not the master are down. So no alert may read "a backend without a server";
what matters is whether some node passes both tests the write frontend makes:
its own check says role:master AND a majority of the Sentinels name it.
"""

from __future__ import annotations

from components.monitoring.labels import DEPLOYMENT, TEAM
from components.monitoring.rules.model import Alert, Record, RuleGroup, RulesSpec

PER_POD = f"by (namespace, pod, {DEPLOYMENT}, {TEAM})"
WHERE = "HAProxy {{ $labels.pod }} of deployment {{ $labels.deployment }} (team {{ $labels.team }})"
WRITE_CANDIDATES = "job:haproxy_write_candidates:count"


def _node(expr: str, prefix: str) -> str:
    # Backend names carry the node ordinal; matching the two backend kinds
    # per node needs it as a label.
    return f'label_replace({expr}, "node", "$1", "proxy", "{prefix}([0-9]+)")'


def write_candidates() -> str:
    """Per HAProxy pod: how many nodes the write frontend would send to.

    The agreement is a majority of the Sentinels (HAProxySpec's default):
    active servers of sentinels_name_<i> times two above the number of
    servers in that backend.
    """
    says_master = _node('haproxy_backend_active_servers{proxy=~"redis_master_[0-9]+"} >= 1', "redis_master_")
    named = _node(
        'haproxy_backend_active_servers{proxy=~"sentinels_name_[0-9]+"} * 2 > on (namespace, pod, proxy) '
        'count by (namespace, pod, proxy) (haproxy_server_status{proxy=~"sentinels_name_[0-9]+", state="UP"})',
        "sentinels_name_",
    )
    qualified = f"{says_master} and on (namespace, pod, node) {named}"
    # count() of nothing is nothing: the zero comes from the per-node backends,
    # which exist for as long as the HAProxy pod is scraped.
    zero = f'0 * count {PER_POD} (haproxy_backend_active_servers{{proxy=~"redis_master_[0-9]+"}})'
    return f"count {PER_POD} ({qualified}) or {zero}"


def recording_rules() -> RuleGroup:
    return RuleGroup("haproxy-recording", (Record(WRITE_CANDIDATES, write_candidates()),))


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    replicas = 'haproxy_backend_active_servers{proxy="redis_replicas"}'
    replica_servers = 'count by (namespace, pod) (haproxy_server_status{proxy="redis_replicas", state="UP"})'
    return (
        recording_rules(),
        RuleGroup(
            "haproxy-alerts",
            (
                Alert("HAProxyNoMasterReachable", f"{WRITE_CANDIDATES} == 0", "1m", "critical",
                      "No Redis master reachable through {{ $labels.pod }}",
                      f"{WHERE} finds no node that says role:master and is named by a majority of the Sentinels; "
                      "its write port refuses every client."),
                # Only a set with replicas can lose them; the read port then
                # falls back to the master, so reads still work.
                Alert("HAProxyNoReplicaReachable",
                      f"{replicas} == 0 and on (namespace, pod) ({replica_servers} > 1)", "5m", "warning",
                      "No healthy Redis replica behind {{ $labels.pod }}",
                      f"{WHERE} finds no replica in sync with the master; reads go to the master."),
            ),
        ),
    )
