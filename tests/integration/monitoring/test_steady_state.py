"""The steady-state test: every rendered rule, run by the real Prometheus
against live exporters of healthy deployments, stays silent.

Deployments, each started by the existing harnesses from generated text:
a Redis Cluster (3 shards x 1 replica, cluster-start.sh + bootstrap Job
script), a Sentinel master set behind HAProxy (pod scripts, rendered
haproxy.cfg, exporters on the data nodes and on the Sentinels), and an
allkeys-lru cache (master + replica) kept at maxmemory and evicting by a
writer for the whole test.

Rule-file variant: the production rule files with the same expressions and
every ``for:`` capped at FOR_CAP (``RulesSpec.for_overrides``; rules without
``for:`` keep none), evaluated every second. The real durations go up to 1h,
which no test can wait for; a shorter ``for:`` only makes the test stricter,
because an expression that is true at all in a healthy system turns pending
within a second. The observation window is FOR_CAP plus several evaluation
cycles, after every deployment is healthy and every rule has evaluated.

node-exporter is left out: its alerts read the host this test runs on (a
full disk here is no property of the deployments).
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import redis as redis_py

from components.monitoring.prometheus_config import pod_target, render_prometheus_config
from components.monitoring.rules import RulesSpec, alerts, render_rule_files, rule_groups
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import PASSWORDS as CLUSTER_PASSWORDS
from tests.integration.cluster.harness import ClusterHarness
from tests.integration.monitoring.helpers import (NS, alerts as live_alerts, http_get, loopback_spec, query, redis_pod,
                                                  start_prometheus, start_redis, start_redis_exporter)
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import STATS_PORT, WRITE_PORT, MasterSet, Topology

pytestmark = pytest.mark.integration

IP = "127.0.2.{}".format  # this test's own block of loopback addresses
CLUSTER_ADDRS = [IP(i) for i in range(20, 26)]
CACHE_MASTER, CACHE_REPLICA, PROM = IP(30), IP(31), IP(40)
FOR_CAP_S = 10
WINDOW_S = FOR_CAP_S + 15


SENTINEL_TOPOLOGY = Topology(subnet="127.0.2", first=10)


def _capped(duration: str) -> str:
    seconds = sum(int(n) * {"s": 1, "m": 60, "h": 3600}[u] for n, u in re.findall(r"(\d+)([smh])", duration))
    return f"{min(seconds, FOR_CAP_S)}s"


def steady_rules_spec() -> RulesSpec:
    every = {a.name: a.for_ for gs in rule_groups(RulesSpec()).values() for a in alerts(gs)}
    return RulesSpec(for_overrides={name: _capped(d) for name, d in every.items() if _capped(d) != "0s"})


def _start_cluster(procs, root) -> list:
    topo = ClusterTopology("orders", "orders-headless", NS, shards=3, replicas_per_shard=1)
    h = ClusterHarness(root / "cluster", procs, topo, addresses=list(CLUSTER_ADDRS))
    ordinals = list(range(topo.shards * (1 + topo.replicas_per_shard)))
    for i in ordinals:
        h.start(i, wait=False)
    for i in ordinals:
        h.wait_up(i)
    assert h.bootstrap(topo).returncode == 0
    h.wait_healthy(ordinals, 60)
    targets = []
    for i in ordinals:
        start_redis_exporter(procs, root, h.addr[i], password=CLUSTER_PASSWORDS["exporter"], user="exporter")
        targets.append(redis_pod(h.addr[i], f"orders-{i}", "orders", "checkout", component="cluster-node"))
    return targets


def _start_sentinel_set(procs, root) -> tuple[MasterSet, list]:
    ms = MasterSet(procs, root / "sentinel", SENTINEL_TOPOLOGY)
    ms.start_all()
    targets = []
    for i, ip in enumerate(ms.topo.redis):
        start_redis_exporter(procs, root, ip, password=ms.passwords["exporter"], user="exporter")
        targets.append(redis_pod(ip, f"sessions-{i}", "sessions", "web", component="data-node"))
    for i, ip in enumerate(ms.topo.sentinels):
        start_redis_exporter(procs, root, ip, redis_port=26379, password=ms.passwords["exporter"], user="exporter")
        targets.append(redis_pod(ip, f"sessions-sentinel-{i}", "sessions", "web", component="sentinel"))
    targets.append(pod_target(
        f"{ms.topo.haproxy}:{WRITE_PORT}", pod="sessions-haproxy-0", namespace=NS,
        pod_labels={"app.kubernetes.io/instance": "sessions", "redis-platform/team": "web"},
        annotations={"prometheus.io/scrape": "true", "prometheus.io/port": str(STATS_PORT),
                     "prometheus.io/path": "/metrics"}))
    return ms, targets


def _start_cache(procs, root) -> list:
    lru = {"maxmemory-policy": "allkeys-lru"}
    start_redis(procs, root, CACHE_MASTER, maxmemory=16 << 20, extra=lru)
    start_redis(procs, root, CACHE_REPLICA, maxmemory=16 << 20, extra=lru, replicaof=f"{CACHE_MASTER} 6379")
    for ip in (CACHE_MASTER, CACHE_REPLICA):
        start_redis_exporter(procs, root, ip)
    return [redis_pod(CACHE_MASTER, "cache-0", "cache", "search"), redis_pod(CACHE_REPLICA, "cache-1", "cache", "search")]


def _writer(stop: threading.Event, deadline: float, written: list[int]) -> None:
    """Keeps the cache at maxmemory so it evicts for the whole test (bounded by ``deadline``)."""
    c = redis_py.Redis(host=CACHE_MASTER, port=6379, socket_timeout=2)
    value = b"x" * 4096
    n = 0
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            pipe = c.pipeline(transaction=False)
            for _ in range(20):
                pipe.set(f"k{n}", value)
                n += 1
            pipe.execute()
            time.sleep(0.05)
    finally:
        written.append(n)
        c.close()


def _firing_or_pending() -> list[str]:
    return [f"{a['labels']['alertname']}({a['state']}, {a['labels'].get('pod', a['labels'].get('deployment', ''))})"
            for a in live_alerts(PROM)]


def test_no_alert_in_healthy_cluster_sentinel_and_lru_cache(procs, tmp_path):
    started = time.monotonic()
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(stop, started + 420, written), daemon=True)
    try:
        pods = _start_cluster(procs, tmp_path)
        ms, sentinel_pods = _start_sentinel_set(procs, tmp_path)
        pods += sentinel_pods + _start_cache(procs, tmp_path)
        writer.start()
        up_at = time.monotonic()

        rules_dir = tmp_path / "rules"
        spec = steady_rules_spec()
        config = render_prometheus_config(loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir,
                                                        pods=pods))
        start_prometheus(procs, tmp_path, PROM, config, render_rule_files(spec), rules_dir)

        # The rules must see these deployments as they are, or silence proves nothing.
        wait_for(lambda: len(query(PROM, 'up{job="kubernetes-pods"} == 1')) == len(pods), 30, what="every pod scraped")
        # Data nodes only (sessions has 3, and 3 Sentinels that are scraped but not counted).
        expected_nodes = {"orders": 6, "sessions": 3, "cache": 2}
        wait_for(lambda: {r["metric"]["deployment"]: int(float(r["value"][1])) for r in query(PROM, "job:redis_up:sum")}
                 == expected_nodes, 30, what="every node up in job:redis_up:sum")
        wait_for(lambda: [r["value"][1] for r in query(PROM, "job:haproxy_write_candidates:count")] == ["1"], 30,
                 what="HAProxy has exactly one write candidate")
        assert len(query(PROM, "redis_cluster_state == 1")) == 6
        wait_for(lambda: query(PROM, 'rate(redis_evicted_keys_total{pod="cache-0"}[10s]) > 0'), 30,
                 what="the cache evicting")
        # used_memory dips below maxmemory right after each eviction round.
        [ratio] = query(PROM, 'max_over_time(job:redis_memory_used:ratio_maxmemory{deployment="cache"}[30s])')
        assert float(ratio["value"][1]) > 0.85, ratio
        assert ms.via(WRITE_PORT) == ms.topo.redis[0]
        # What the replaced rules read is true here, so this test would have
        # caught them: HAProxyBackendNoServer (empty backends by design) and
        # RedisEvictingKeys (a cache evicts).
        empty_backends = query(PROM, "haproxy_backend_active_servers == 0")
        assert len(empty_backends) >= 5, empty_backends
        assert query(PROM, 'rate(redis_evicted_keys_total{deployment="cache"}[1m]) > 0')

        # Every rule has evaluated without error before the window opens.
        def rules_evaluated() -> list[dict]:
            groups = json.loads(http_get(f"http://{PROM}:9090/api/v1/rules"))["data"]["groups"]
            return [r for g in groups for r in g["rules"]]

        wait_for(lambda: all(r["health"] == "ok" for r in rules_evaluated()), 15, what="every rule evaluated")
        window_start = time.monotonic()
        seen: set[str] = set()
        polls = 0
        while time.monotonic() - window_start < WINDOW_S:  # bounded by WINDOW_S
            seen |= set(_firing_or_pending())
            polls += 1
            time.sleep(1)
        # Polls could miss a state that lasted under a second; ALERTS keeps it.
        history = query(PROM, f"count by (alertname, alertstate) (count_over_time(ALERTS[{WINDOW_S}s]))")
        rules = rules_evaluated()
        alerting = [r for r in rules if r["type"] == "alerting"]
        broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok" or r.get("lastError")]
        assert not broken, broken
        assert not seen, f"alerts in a healthy system: {sorted(seen)}"
        assert not history, history
        assert not query(PROM, "increase(prometheus_rule_evaluation_failures_total[1m]) > 0")
        print(f"steady state: {len(alerting)} alerting and {len(rules) - len(alerting)} recording rules, "
              f"{len(pods)} scraped pods, healthy after {up_at - started:.1f}s, window {WINDOW_S}s "
              f"(for: capped at {FOR_CAP_S}s, evaluated every 1s), {polls} polls, total {time.monotonic() - started:.1f}s")
    finally:
        stop.set()
        if writer.is_alive():
            writer.join(timeout=10)
    print(f"cache writer set {written[0] if written else 0} keys")
