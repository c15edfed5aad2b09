"""Cluster shard advice: config targets reach the rules, and the Redis
dashboard shows the headroom the rules record."""

from __future__ import annotations

import json

import yaml

from tests.unit.conftest import BASE_CONFIG, run_with

DEP = {"name": "orders", "team": "checkout", "mode": "cluster", "size": "small"}


def test_targets_from_config_reach_the_rules_and_the_dashboard_shows_headroom():
    run = run_with(BASE_CONFIG | {"deployments": [DEP],
                                  "monitoring": {"shardAdvice": {"memoryTargetRatio": 0.6, "cpuTargetCores": 0.5, "for": "1h"}}})
    [rules_cm] = run.k8s("ConfigMap", "prometheus-rules")
    groups = {g["name"]: g for g in yaml.safe_load(rules_cm["data"]["capacity.yml"])["groups"]}
    records = {r["record"]: r["expr"] for r in groups["redis-capacity"]["rules"]}
    assert "0.6 * (job:redis_cluster_maxmemory_bytes:avg > 0)" in records["job:redis_cluster_shards_needed:max"]
    assert "job:redis_cluster_cpu_cores:sum_rate5m / 0.5" in records["job:redis_cluster_shards_needed:max"]
    [alert] = groups["redis-capacity-alerts"]["rules"]
    assert alert["for"] == "1h" and alert["labels"] == {"severity": "warning"}
    assert "cluster: {shards: {{ $value" in alert["annotations"]["description"]
    dashboards = {}
    for cm in run.k8s("ConfigMap", "grafana-dashboards"):
        dashboards.update(cm["data"])
    text = json.dumps(dashboards)
    assert "job:redis_cluster_memory_headroom:ratio" in text and "job:redis_cluster_cpu_headroom:ratio" in text
