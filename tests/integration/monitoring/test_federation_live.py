"""Two lower Prometheus servers (generated config, different external
labels, each scraping its own redis_exporter + redis-server) and a global one
with the generated federation config."""

from __future__ import annotations

import time

import pytest

from components.monitoring.federation_config import FederationSpec, LowerPrometheus, render_federation_config
from components.monitoring.prometheus_config import render_prometheus_config
from components.monitoring.rules import RulesSpec, render_global_rule_files, render_rule_files
from tests.integration.monitoring.helpers import (alerts, loopback_spec, query, redis_pod, start_prometheus,
                                                  start_redis, start_redis_exporter)
from tests.integration.procs import wait_for

pytestmark = pytest.mark.integration

LOWER = {"dev": ("127.0.0.110", "127.0.0.111"), "prod": ("127.0.0.112", "127.0.0.113")}  # redis+exporter, prometheus
GLOBAL = "127.0.0.114"


def test_global_prometheus_federates_aggregates_and_alerts_on_lost_lower(procs, tmp_path):
    lower_procs = {}
    for env, (redis_ip, prom_ip) in LOWER.items():
        start_redis(procs, tmp_path / env, redis_ip)
        start_redis_exporter(procs, tmp_path / env, redis_ip)
        rules_dir = tmp_path / env / "rules"
        spec = loopback_spec(environment=env, prometheus_ip=prom_ip, rules_dir=rules_dir,
                             pods=[redis_pod(redis_ip, "cache-0", "cache", "payments")])
        lower_procs[env] = start_prometheus(procs, tmp_path / env, prom_ip, render_prometheus_config(spec),
                                            render_rule_files(RulesSpec()), rules_dir)
    rules_dir = tmp_path / "global" / "rules"
    fed = FederationSpec(
        lower=tuple(LowerPrometheus(env, (f"{prom_ip}:9090",)) for env, (_, prom_ip) in LOWER.items()),
        scrape_interval="1s", scrape_timeout="900ms", evaluation_interval="1s", global_scrape_interval="1s",
        rule_files=(f"{rules_dir}/*.yml",), self_target=f"{GLOBAL}:9090",
    )
    start_prometheus(procs, tmp_path / "global", GLOBAL, render_federation_config(fed),
                     render_global_rule_files(RulesSpec(for_overrides={"FederatedPrometheusDown": "2s"})), rules_dir)

    def envs(promql: str) -> set[str]:
        return {s["metric"].get("environment", "") for s in query(GLOBAL, promql)}

    wait_for(lambda: envs("job:redis_up:sum") == {"dev", "prod"}, 30, what="federated job:redis_up:sum from both")
    for s in query(GLOBAL, "job:redis_up:sum"):
        m = s["metric"]
        assert (m["deployment"], m["team"], m["source_prometheus"]) == ("cache", "payments", m["environment"])
        assert m["cluster"] == f"{m['environment']}-cluster"
        assert float(s["value"][1]) == 1
    wait_for(lambda: envs('up{job="kubernetes-pods"}') == {"dev", "prod"}, 15, what="federated up")
    assert envs('redis_instance_info{role="master"}') == {"dev", "prod"}  # a configured raw series
    # Raw series outside the selectors stay on the lower servers.
    for env, (_, prom_ip) in LOWER.items():
        assert query(prom_ip, "redis_connected_clients"), env
    assert query(GLOBAL, "redis_connected_clients") == []
    assert query(GLOBAL, "redis_commands_processed_total") == []
    assert query(GLOBAL, '{__name__=~"redis_.+", __name__!~"redis_up|redis_instance_info|redis_cluster_state"}') == []
    assert {s["metric"]["source_prometheus"] for s in query(GLOBAL, 'up{job=~"federate-.+"} == 1')} == {"dev", "prod"}

    lower_procs["prod"].stop()
    stopped = time.monotonic()

    def lost():
        return [a for a in alerts(GLOBAL) if a["labels"]["alertname"] == "FederatedPrometheusDown"]

    wait_for(lost, 20, what="FederatedPrometheusDown")
    [alert] = lost()
    print(f"FederatedPrometheusDown {alert['state']} {time.monotonic() - stopped:.1f}s after the prod Prometheus stopped")
    assert alert["state"] in ("pending", "firing")
    assert alert["labels"]["source_prometheus"] == "prod" and alert["labels"]["severity"] == "critical"
    # dev keeps being federated. (prod's last federated samples linger for the
    # 5m lookback: /federate sends timestamps, and Prometheus writes no
    # staleness markers for timestamped samples; hence the up-based alert.)
    assert {s["metric"]["source_prometheus"] for s in query(GLOBAL, 'up{job=~"federate-.+"} == 1')} == {"dev"}
