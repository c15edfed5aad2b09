"""Sentinel alerts on real Sentinels: redis_exporter scrapes each Sentinel
of a master set started by the pod scripts, found by Prometheus through the
labels and annotations of the rendered Sentinel pod template, at the address
its exporter sidecar is given; a failover is ordered, then two of the three
Sentinels are stopped so the last one cannot reach a majority."""

from __future__ import annotations

import time

import pytest

from urllib.parse import urlsplit

from components.monitoring.prometheus_config import pod_target, render_prometheus_config
from components.monitoring.rules import RulesSpec, render_rule_files
from tests.integration.monitoring.helpers import NS, alerts, loopback_spec, query, start_prometheus, start_redis_exporter
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import MASTER_SET, MasterSet, Topology
from tests.unit.conftest import BASE_CONFIG, run_with

pytestmark = pytest.mark.integration

PROM = "127.0.2.70"


TOPOLOGY = Topology(subnet="127.0.2", first=60)


def _named(name: str) -> list[dict]:
    return [a for a in alerts(PROM) if a["labels"]["alertname"] == name]


def _rendered_sentinel_pod() -> tuple[dict, dict, int, int, str]:
    """Labels, annotations, exporter port, the Sentinel port its exporter
    asks and the ACL user it logs in as, from the Sentinel StatefulSet the
    program renders."""
    run = run_with(BASE_CONFIG | {"redisNamespace": NS, "deployments": [
        {"name": "sessions", "team": "web", "mode": "sentinel", "size": "small"}]})
    [sts] = run.k8s("StatefulSet", "sessions-sentinel")
    meta = sts["spec"]["template"]["metadata"]
    [exporter] = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "exporter"]
    addr = next(e["value"] for e in exporter["env"] if e["name"] == "REDIS_ADDR")
    user = next(e["value"] for e in exporter["env"] if e["name"] == "REDIS_USER")
    return meta["labels"], meta["annotations"], exporter["ports"][0]["containerPort"], urlsplit(addr).port, user


def test_failover_and_lost_quorum_fire_sentinel_alerts(procs, tmp_path):
    ms = MasterSet(procs, tmp_path, TOPOLOGY)
    ms.start_all()
    labels, annotations, exporter_port, sentinel_port, user = _rendered_sentinel_pod()
    assert (exporter_port, sentinel_port, user) == (9121, 26379, "exporter")
    pods = []
    for i, ip in enumerate(ms.topo.sentinels):
        start_redis_exporter(procs, tmp_path, ip, port=exporter_port, redis_port=sentinel_port, password=ms.passwords[user], user=user)
        # Kubernetes SD gives the pod IP with the container's port; the
        # annotation's port is what the scrape job keeps.
        pods.append(pod_target(f"{ip}:{sentinel_port}", pod=f"sessions-sentinel-{i}", namespace=NS,
                               pod_labels=labels, annotations=annotations))
    rules_dir = tmp_path / "rules"
    # Short `for:` and failover window in this copy; production keeps 1m and 15m.
    spec = RulesSpec(for_overrides={"RedisSentinelQuorumLost": "2s"}, sentinel_failover_window="1m")
    start_prometheus(procs, tmp_path, PROM, render_prometheus_config(
        loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir, pods=pods)),
        render_rule_files(spec), rules_dir)

    wait_for(lambda: len(query(PROM, "redis_sentinel_master_ckquorum_status == 1")) == 3, 20,
             what="three Sentinels report quorum")
    [series] = query(PROM, 'redis_sentinel_tilt{pod="sessions-sentinel-0"}')
    assert {k: series["metric"][k] for k in ("deployment", "team", "component", "namespace")} == {
        "deployment": "sessions", "team": "web", "component": "sentinel", "namespace": NS}
    time.sleep(3)
    assert not [a for a in alerts(PROM) if a["labels"]["alertname"].startswith("RedisSentinel")]

    old = ms.sentinel_master(ms.topo.sentinels[0])
    sentinel = ms.client(ms.topo.sentinels[0], 26379)
    assert sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_SET)
    ordered = time.monotonic()
    wait_for(lambda: ms.sentinel_master(ms.topo.sentinels[0]) not in (None, old), 30, what="failover done")
    wait_for(lambda: _named("RedisSentinelFailover"), 30, what="RedisSentinelFailover")
    [failover] = _named("RedisSentinelFailover")
    print(f"RedisSentinelFailover {failover['state']} {time.monotonic() - ordered:.1f}s after the failover was ordered")
    assert failover["labels"]["deployment"] == "sessions" and failover["labels"]["master_name"] == MASTER_SET
    assert failover["labels"]["severity"] == "info" and float(failover["value"]) == 2

    # Two of three Sentinels gone: the last one cannot authorize a failover.
    for ip in ms.topo.sentinels[1:]:
        [proc] = [p for p in procs.procs if p.log == tmp_path / f"sentinel-{ip}" / "log"]
        proc.stop()
    stopped = time.monotonic()
    wait_for(lambda: [a for a in _named("RedisSentinelQuorumLost") if a["state"] == "firing"], 60, interval=0.5,
             what="RedisSentinelQuorumLost firing")
    print(f"RedisSentinelQuorumLost firing {time.monotonic() - stopped:.1f}s after two Sentinels stopped")
    [lost] = _named("RedisSentinelQuorumLost")
    assert lost["labels"]["severity"] == "critical" and lost["labels"]["deployment"] == "sessions"
    sentinel.close()
