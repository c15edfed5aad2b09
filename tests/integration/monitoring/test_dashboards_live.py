"""Every dashboard is Grafana dashboard JSON made by the SDK, and every metric
its queries read is exported by the live exporters (cAdvisor: documented
list, see promql_names). Each query is also run on a real Prometheus
scraping them, so a PromQL error in a panel fails here."""

from __future__ import annotations

import json

import pytest
import redis as redis_py
from grafana_foundation_sdk.models.dashboard import Dashboard

from components.monitoring.dashboards import DashboardSpec, render_dashboards, render_global_dashboards
from components.monitoring.prometheus_config import pod_target, render_prometheus_config
from components.monitoring.rules import Record, RulesSpec, render_rule_files, rule_groups
from tests.integration.monitoring.helpers import (NS, http_get, loopback_spec, metric_names, query, redis_pod,
                                                  start_node_exporter, start_prometheus, start_redis, start_redis_exporter)
from tests.integration.monitoring.promql_names import CADVISOR_DOCUMENTED, dashboard_queries
from tests.integration.monitoring.promql_names import metric_names as names_in
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

MASTER, REPLICA, CLUSTER, HAPROXY, PROM = "127.0.0.96", "127.0.0.97", "127.0.0.98", "127.0.0.99", "127.0.0.100"


def _all_dashboards() -> dict[str, str]:
    spec = DashboardSpec()
    return {**render_dashboards(spec), **render_global_dashboards(spec)}


def test_dashboards_are_grafana_json_from_the_sdk():
    for name, text in _all_dashboards().items():
        data = json.loads(text)
        model = Dashboard.from_json(data)  # the SDK's own decoder accepts it
        assert model.uid and model.title and data["schemaVersion"] >= 36, name
        panels = data["panels"]
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)) and 0 not in ids, name
        for p in panels:
            assert set(p["gridPos"]) == {"h", "w", "x", "y"}
            if p["type"] == "row":
                continue
            assert p["datasource"] == {"type": "prometheus", "uid": "prometheus"}, (name, p["title"])
            refs = [t["refId"] for t in p["targets"]]
            assert refs and len(set(refs)) == len(refs) and all(refs), (name, p["title"])
        print(f"{name}: {len(panels)} panels, {len(dashboard_queries(data))} queries")


def _haproxy_cfg(ip: str) -> str:
    lines = [
        "global", "  maxconn 256",
        "defaults", "  mode tcp", "  timeout connect 1s", "  timeout client 10s", "  timeout server 10s",
        "frontend prometheus", "  mode http", f"  bind {ip}:8405",
        "  http-request use-service prometheus-exporter if { path /metrics }",
        "frontend redis_front", f"  bind {ip}:6379", "  default_backend redis_master",
        "backend redis_master", f"  server master {MASTER}:6379 check inter 1s",
    ]
    return "\n".join(lines) + "\n"


def test_dashboard_metrics_exist_on_live_exporters(procs, tmp_path):
    start_redis(procs, tmp_path, MASTER)
    start_redis(procs, tmp_path, REPLICA, replicaof=f"{MASTER} 6379")
    start_redis(procs, tmp_path, CLUSTER, extra={"cluster-enabled": "yes",
                                                 "cluster-config-file": str(tmp_path / "nodes.conf")})
    redis_py.Redis(host=CLUSTER, port=6379).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    for ip in (MASTER, REPLICA, CLUSTER):
        start_redis_exporter(procs, tmp_path, ip)
    (tmp_path / "haproxy.cfg").write_text(_haproxy_cfg(HAPROXY))
    procs.start([require("haproxy"), "-f", str(tmp_path / "haproxy.cfg")], tmp_path / "haproxy.log")
    wait_for(lambda: port_open(HAPROXY, 8405), 10, what="haproxy exporter")
    start_node_exporter(procs, tmp_path, HAPROXY)
    haproxy_pod = pod_target(f"{HAPROXY}:6379", pod="sessions-haproxy-0", namespace=NS,
                             pod_labels={"app.kubernetes.io/instance": "sessions", "redis-platform/team": "web"},
                             annotations={"prometheus.io/scrape": "true", "prometheus.io/port": "8405",
                                          "prometheus.io/path": "/metrics"})
    rules_dir = tmp_path / "rules"
    spec = loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir,
                         node_exporters=[f"{HAPROXY}:9100"],
                         pods=[redis_pod(MASTER, "sessions-0", "sessions", "web"),
                               redis_pod(REPLICA, "sessions-1", "sessions", "web"),
                               redis_pod(CLUSTER, "cache-0", "cache", "payments"), haproxy_pod])
    start_prometheus(procs, tmp_path, PROM, render_prometheus_config(spec), render_rule_files(RulesSpec()), rules_dir)

    live: set[str] = set()
    for url in [f"http://{ip}:9121/metrics" for ip in (MASTER, REPLICA, CLUSTER)] + [
            f"http://{HAPROXY}:8405/metrics", f"http://{HAPROXY}:9100/metrics", f"http://{PROM}:9090/metrics"]:
        live |= metric_names(url)
    recorded = {r.record: r.expr for gs in rule_groups(RulesSpec()).values() for g in gs for r in g.rules
                if isinstance(r, Record)}
    # Recording rules are only as good as the raw series they read; a rule may
    # read another rule's series, which is checked in its own turn here.
    for record, expr in recorded.items():
        assert names_in(expr) <= live | set(recorded), (record, names_in(expr) - live - set(recorded))
    # `up` is written by Prometheus for every scrape, not exported by a target.
    known = live | set(recorded) | CADVISOR_DOCUMENTED | {"up"}

    wait_for(lambda: len(query(PROM, 'up{job="kubernetes-pods"} == 1')) == 4, 20, what="all pods scraped")
    wait_for(lambda: query(PROM, "job:redis_commands_processed:rate5m"), 20, what="recording rules evaluated")
    empty = []
    for name, text in _all_dashboards().items():
        for expr in dashboard_queries(json.loads(text)):
            missing = names_in(expr) - known
            assert not missing, f"{name}: {expr!r} reads {missing}, which no live exporter exports"
            if expr.startswith("label_values("):
                continue
            promql = (expr.replace("$__rate_interval", "1m").replace("$deployment", ".*").replace("$role", ".*")
                      .replace("$node", ".*").replace("$namespace", ".*").replace("$pod", ".*")
                      .replace("$environment", ".*"))
            if not query(PROM, promql):  # query() asserts the API accepted it
                empty.append(f"{name}: {expr}")
    print(f"{len(live)} live metric names; queries with no data on this loopback stack (cAdvisor, federation, "
          f"or not yet 2 samples): {len(empty)}")
    for line in empty:
        print("  ", line)
