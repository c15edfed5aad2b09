"""Sections 3 and 4 (Redis Cluster): a 3-master cluster on the generated
config under ``redis-benchmark --cluster`` vs a single bare node, and seconds
of refused writes after a master is SIGKILLed.

The cluster is tests.integration.cluster.harness.ClusterHarness: every pod is
the real cluster-start.sh on the rendered redis.conf (the default topology:
3 shards x 1 replica, cluster-node-timeout 5 s), bootstrapped by the real
cluster-bootstrap.sh, on 127.0.0.220-239.
"""

from __future__ import annotations

from pathlib import Path

import redis
from redis.crc import key_slot

from bench import defaults, rbench
from bench.recovery import Probe, emit_median, outage
from bench.result import log
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import ADMIN_USER, PASSWORD, PASSWORDS, ClusterHarness, masters, slot_set
from tests.integration.procs import ProcGroup, wait_for

_dep = defaults.deployment("cluster").cluster
TOPOLOGY = ClusterTopology("bench", "bench-headless", "redis-bench",
                           shards=_dep.shards, replicas_per_shard=_dep.replicas_per_shard)
ALL = list(range(TOPOLOGY.node_count))
CLUSTER_REQUEST_FACTOR = 2


def start(group: ProcGroup, root: Path) -> ClusterHarness:
    # This run owns 127.0.0.220-239; redis.conf carries the preset's maxmemory.
    # Full coverage on: other_shards_refused measures what that setting costs
    # (the default is off since issue 14: docs/operations.md, where the same
    # event with it off measures 0).
    h = ClusterHarness(root / "cluster", group, TOPOLOGY, addresses=list(defaults.CLUSTER_POOL),
                       maxmemory=defaults.maxmemory(), conf={"cluster_require_full_coverage": True})
    for i in ALL:
        h.start(i, wait=False)
    for i in ALL:
        h.wait_up(i)
    result = h.bootstrap(TOPOLOGY)
    if result.returncode != 0:
        raise RuntimeError(f"cluster bootstrap failed:\n{result.stdout}{result.stderr}")
    h.wait_healthy(ALL, 60)
    wait_for(lambda: replicas_in_sync(h), 60, interval=0.25, what="every replica's first sync done")
    return h


def throughput(h: ClusterHarness, plan: rbench.Plan, bare: rbench.Target) -> None:
    # As an application would: the deployment's app user.
    target = rbench.Target(h.addr[0], password=PASSWORDS["app"], cluster=True, user="app")
    log(f"section 3: redis-benchmark --cluster on {TOPOLOGY.shards} masters ({TOPOLOGY.node_count} pods) vs one bare node")
    # In cluster mode redis-benchmark runs a thread per node and notices the
    # end only on its 250 ms timer; twice the requests halve that error.
    rbench.compare("cluster", target, bare, "one bare redis-server: defaults, --save '' --appendonly no",
                   plan.times(CLUSTER_REQUEST_FACTOR))


def replicas_in_sync(h: ClusterHarness) -> bool:
    """Every replica has finished its sync and has its link up. The harness's
    wait_healthy does not look at replication: a replica still in its first
    (diskless, 5 s delayed) sync has no data and refuses to fail over."""
    for i, pod in h.pods.items():
        if pod.alive():
            info = h.node(i).info("replication")
            if info["role"] == "slave" and (info.get("master_link_status") != "up" or info.get("master_sync_in_progress")):
                return False
    return True


def _ordinal(h: ClusterHarness, node_id: str) -> int:
    return next(i for i in h.pods if h.pods[i].alive() and h.node(i).execute_command("CLUSTER", "MYID") == node_id)


def _key_in(slots: set[int], prefix: str) -> str:
    return next(k for k in (f"{prefix}:{n}" for n in range(100_000)) if key_slot(k.encode()) in slots)


def _client(h: ClusterHarness, ordinal: int) -> redis.Redis:
    # No cluster client: the probe asks the one node that can own the key, so
    # what it measures is the server side, without a client library's rediscovery.
    return redis.Redis(host=h.addr[ordinal], username=ADMIN_USER, password=PASSWORD, socket_timeout=0.5, socket_connect_timeout=0.5)


def one_kill(h: ClusterHarness, run: int) -> tuple[float, float]:
    """(seconds the killed shard refused writes, seconds the other shards did)."""
    view = h.view(min(i for i, p in h.pods.items() if p.alive()))
    ids = sorted(masters(view))
    victim_id, other_id = ids[run % len(ids)], ids[(run + 1) % len(ids)]
    victim, other = _ordinal(h, victim_id), _ordinal(h, other_id)
    heir = _ordinal(h, next(nid for nid, v in view.items() if v["master"] == victim_id))
    killed = Probe(lambda: _client(h, heir), _key_in(slot_set(view[victim_id]["slots"]), "killed"))
    others = Probe(lambda: _client(h, other), _key_in(slot_set(view[other_id]["slots"]), "other"))
    # The heir answers MOVED until it is promoted; before the kill, the owner takes the writes.
    owner = Probe(lambda: _client(h, victim), killed.key)
    result = outage(h.pods[victim].kill, killed, (others,), ready=(owner, others))
    log(f"run {run + 1}: killed pod {victim}; its slots refused writes for {result[killed.key]:.2f}s, "
        f"other shards for {result[others.key]:.2f}s (CLUSTERDOWN); pod {heir} promoted")
    # Through its start script it rejoins as a replica of the promoted node
    # (or, when no replica took over, as the master it was).
    h.start(victim)
    h.wait_healthy(ALL, 90)
    wait_for(lambda: replicas_in_sync(h), 60, interval=0.25, what="replicas in sync after the restart")
    return result[killed.key], result[others.key]


def recovery(h: ClusterHarness, runs: int) -> None:
    floor = defaults.cluster_node_timeout_s()
    log(f"section 4: SIGKILL a cluster master {runs} time(s) (cluster-node-timeout {floor}s)")
    killed, others = zip(*(one_kill(h, n) for n in range(runs)))
    how = "SIGKILL a master; SET a key of its slots on its replica (and of another shard on that master) every 20 ms; "
    emit_median("recovery.cluster.write_outage", list(killed), floor, "cluster-node-timeout (detection alone)",
                how + "seconds from the kill to the first acknowledged write", {"node_timeout_ms": int(floor * 1000)})
    emit_median("recovery.cluster.other_shards_refused", list(others), floor, "cluster-node-timeout (detection alone)",
                how + "span of CLUSTERDOWN refusals on the other shard (cluster-require-full-coverage yes)",
                {"node_timeout_ms": int(floor * 1000)})


def run(root: Path, plan: rbench.Plan, runs: int, bare: rbench.Target | None,
        throughput_too: bool = True, recovery_too: bool = True) -> None:
    group = ProcGroup()
    try:
        h = start(group, root)
        if throughput_too and bare is not None:
            throughput(h, plan, bare)
        if recovery_too:
            recovery(h, runs)
    finally:
        group.stop_all()
