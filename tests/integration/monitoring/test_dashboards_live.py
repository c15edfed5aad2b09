"""Every dashboard is Grafana dashboard JSON made by the SDK, and every metric
its queries read (and every Sentinel alert's) is exported by the live exporters (cAdvisor and
kube-state-metrics: their documented lists). Each query is also run on a real
Prometheus scraping a Sentinel-mode deployment (master, replica, a Sentinel
with its exporter, HAProxy) and a cluster-mode one, so a PromQL error in a
panel fails here, a panel meant for both modes must show both, and a legend
must name every label that tells its series apart among deployment and pod."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import redis as redis_py
from grafana_foundation_sdk.models.dashboard import Dashboard

from components.monitoring.dashboards import DashboardSpec, render_dashboards, render_global_dashboards
from components.monitoring.prometheus_config import pod_target, render_prometheus_config
from components.monitoring.rules import Record, RulesSpec, alerts, render_rule_files, rule_groups
from tests.integration.monitoring.helpers import (NS, http_get, loopback_spec, metric_names, query, redis_pod,
                                                  start_node_exporter, start_prometheus, start_pushgateway, start_redis,
                                                  start_redis_exporter)
from tests.integration.monitoring.promql_names import CADVISOR_DOCUMENTED, dashboard_queries, dashboard_targets
from tests.integration.monitoring.promql_names import metric_names as names_in
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

MASTER, REPLICA, CLUSTER, HAPROXY, PROM = "127.0.0.96", "127.0.0.97", "127.0.0.98", "127.0.0.99", "127.0.0.100"
SENTINEL, PUSH = "127.0.0.101", "127.0.0.102"
KSM_DOCUMENTED = set((Path(__file__).parents[2] / "unit" / "kube_state_metrics_v2.13.0.txt").read_text().split())
# Panels (or rows) reading series only one mode exports say which in their title.
MODES = {"(cluster mode)": "cache", "(Sentinel mode)": "sessions"}
# Series this loopback stack does not have: its one cluster node has no
# replica, and its HAProxy has none of the generated per-node backends
# (test_steady_state runs the generated haproxy.cfg).
NOT_HERE = {"Replica link to master": {"cache"}, "Nodes taking writes (want 1 per pod)": {"sessions"}}


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
    _start_sentinel(procs, tmp_path)
    start_redis_exporter(procs, tmp_path, SENTINEL, redis_port=26379)
    (tmp_path / "haproxy.cfg").write_text(_haproxy_cfg(HAPROXY))
    procs.start([require("haproxy"), "-f", str(tmp_path / "haproxy.cfg")], tmp_path / "haproxy.log")
    wait_for(lambda: port_open(HAPROXY, 8405), 10, what="haproxy exporter")
    start_node_exporter(procs, tmp_path, HAPROXY)
    haproxy_pod = pod_target(f"{HAPROXY}:6379", pod="sessions-haproxy-0", namespace=NS,
                             pod_labels={"app.kubernetes.io/instance": "sessions", "redis-platform/team": "web"},
                             annotations={"prometheus.io/scrape": "true", "prometheus.io/port": "8405",
                                          "prometheus.io/path": "/metrics"})
    rules_dir = tmp_path / "rules"
    start_pushgateway(procs, tmp_path, PUSH)
    _push_cadvisor_and_ksm_stand_ins()
    spec = loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir,
                         node_exporters=[f"{HAPROXY}:9100"], pushgateways=[f"{PUSH}:9091"],
                         pods=[redis_pod(MASTER, "sessions-0", "sessions", "web", component="data-node"),
                               redis_pod(REPLICA, "sessions-1", "sessions", "web", component="data-node"),
                               redis_pod(SENTINEL, "sessions-sentinel-0", "sessions", "web", component="sentinel"),
                               redis_pod(CLUSTER, "cache-0", "cache", "payments", component="cluster-node"), haproxy_pod])
    start_prometheus(procs, tmp_path, PROM, render_prometheus_config(spec), render_rule_files(RulesSpec()), rules_dir)

    live: set[str] = set()
    for url in [f"http://{ip}:9121/metrics" for ip in (MASTER, REPLICA, CLUSTER, SENTINEL)] + [
            f"http://{HAPROXY}:8405/metrics", f"http://{HAPROXY}:9100/metrics", f"http://{PROM}:9090/metrics"]:
        live |= metric_names(url)
    recorded = {r.record: r.expr for gs in rule_groups(RulesSpec()).values() for g in gs for r in g.rules
                if isinstance(r, Record)}
    # Recording rules are only as good as the raw series they read; a rule may
    # read another rule's series, which is checked in its own turn here.
    for record, expr in recorded.items():
        assert names_in(expr) <= live | set(recorded), (record, names_in(expr) - live - set(recorded))
    # The Sentinel alerts read what Debian's redis_exporter exports for a real Sentinel.
    sentinel_names = set().union(*(names_in(a.expr) for a in alerts(rule_groups(RulesSpec())["sentinel.yml"])))
    assert sentinel_names and sentinel_names <= live, sentinel_names - live
    # `up` is written by Prometheus for every scrape, not exported by a target.
    known = live | set(recorded) | CADVISOR_DOCUMENTED | KSM_DOCUMENTED | {"up"}

    wait_for(lambda: len(query(PROM, 'up{job="kubernetes-pods"} == 1')) == 5, 20, what="all pods scraped")
    wait_for(lambda: query(PROM, "redis_sentinel_master_ok_slaves == 1"), 20, what="the Sentinel sees the replica")
    wait_for(lambda: query(PROM, "job:redis_commands_processed:rate5m"), 20, what="recording rules evaluated")
    # Two scrapes at least, so rate() has data, and the rate-based recording rules evaluated on them.
    wait_for(lambda: query(PROM, 'rate(redis_commands_processed_total{pod="sessions-0"}[1m])'), 20, what="two scrapes")
    wait_for(lambda: query(PROM, "job:redis_cluster_cpu_headroom:ratio"), 20, what="rate-based recording rules")
    empty = []
    for name, text in _all_dashboards().items():
        for expr in dashboard_queries(json.loads(text)):
            missing = names_in(expr) - known
            assert not missing, f"{name}: {expr!r} reads {missing}, which no live exporter exports"
            if expr.startswith("label_values("):
                continue
            if not query(PROM, _promql(expr)):  # query() asserts the API accepted it
                empty.append(f"{name}: {expr}")
    checked = _legends_and_modes(json.loads(_all_dashboards()["redis-overview.json"]))
    checked += _legends_and_modes(json.loads(_all_dashboards()["haproxy.json"]))
    checked += _pods_named_by_deployment(json.loads(_all_dashboards()["containers.json"]))
    [per_node] = [t for _, p, t in dashboard_targets(json.loads(_all_dashboards()["nodes.json"]))
                  if "deployment" in t["legendFormat"]]
    assert {(r["metric"]["node"], r["metric"].get("deployment"), r["value"][1]) for r in query(PROM, _promql(per_node["expr"]))} \
        == {("node-0", "sessions", "2")}, per_node["expr"]
    print(f"{len(live)} live metric names; queries with no data on this loopback stack (cAdvisor, federation, "
          f"or not yet 2 samples): {len(empty)}")
    for line in empty:
        print("  ", line)
    print(f"{checked} Redis, HAProxy and container targets: legends name deployment and pod, both modes shown")


def _promql(expr: str) -> str:
    return (expr.replace("$__rate_interval", "1m").replace("$deployment", ".*").replace("$role", ".*")
            .replace("$node", ".*").replace("$namespace", ".*").replace("$pod", ".*").replace("$environment", ".*"))


def _legends_and_modes(dashboard: dict) -> int:
    """On live data: a legend names {{deployment}} when the series carry one,
    and {{pod}} too when they carry a pod; a panel outside a mode's row shows
    both deployments (one per mode), one in a mode's row shows that mode's."""
    count = 0
    for row, panel, target in dashboard_targets(dashboard):
        result = query(PROM, _promql(target["expr"]))
        legend, where = target["legendFormat"], f"{panel['title']!r}: {target['expr']}"
        labels = set().union(*(r["metric"] for r in result)) if result else set()
        if "deployment" in labels:
            assert "{{deployment}}" in legend, f"{where} has series per deployment; legend {legend!r}"
        if "pod" in labels:
            assert "{{deployment}}" in legend and "{{pod}}" in legend, f"{where} has series per pod; legend {legend!r}"
        modes = [dep for marker, dep in MODES.items() if marker in f"{row} {panel['title']}"]
        want = set(modes) if modes else {"sessions"} if "haproxy" in target["expr"] else {"sessions", "cache"}
        want -= NOT_HERE.get(panel["title"], set())
        shown = {r["metric"].get("deployment") for r in result}
        assert want <= shown, f"{where} shows {shown}, not {want}"
        count += 1
    return count


# cAdvisor and kube-state-metrics are not packaged in Debian: stand-ins with
# their documented names and labels, pushed to a Pushgateway (whose job keeps
# pushed labels). sessions-0 is a scraped pod of a deployment, the backup
# Job's pod is known only to kube-state-metrics, prometheus-0 belongs to none.
STAND_IN_PODS = {("redis", "sessions-0", "redis"): "sessions", ("redis", "sessions-backup-1", "backup"): "sessions",
                 ("monitoring", "prometheus-0", "prometheus"): None}
CADVISOR_SERIES = ("container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total",
                   "container_cpu_cfs_throttled_periods_total", "container_memory_working_set_bytes",
                   "container_spec_memory_limit_bytes", "container_oom_events_total", "container_fs_usage_bytes")


def _push_cadvisor_and_ksm_stand_ins() -> None:
    lines = []
    for (ns, pod, container), dep in STAND_IN_PODS.items():
        where = f'namespace="{ns}",pod="{pod}"'
        lines += [f'{m}{{{where},container="{container}"}} 100' for m in CADVISOR_SERIES]
        lines += [f"container_network_{d}_bytes_total{{{where},interface=\"eth0\"}} 100" for d in ("receive", "transmit")]
        lines.append(f'kube_pod_info{{{where},node="node-0"}} 1')
        lines.append(f'kube_pod_labels{{{where},label_redis_platform_deployment="{dep or ""}"}} 1')
    request = urllib.request.Request(f"http://{PUSH}:9091/metrics/job/stand-ins", data=("\n".join(lines) + "\n").encode(),
                                     method="PUT")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status in (200, 202), resp.status


def _pods_named_by_deployment(dashboard: dict) -> int:
    """Every containers query: one series per stand-in pod, its deployment
    label the pod's deployment (none for the monitoring pod), and a legend
    naming deployment and pod."""
    wait_for(lambda: query(PROM, 'container_fs_usage_bytes{pod="prometheus-0"}'), 20, what="stand-ins scraped")
    wait_for(lambda: query(PROM, 'rate(container_cpu_usage_seconds_total{pod="prometheus-0"}[1m])'), 20,
             what="two scrapes of the stand-ins")
    count = 0
    for _, panel, target in dashboard_targets(dashboard):
        result = query(PROM, _promql(target["expr"]))
        got = {r["metric"]["pod"]: r["metric"].get("deployment") for r in result}
        assert got == {pod: dep for (_, pod, _), dep in STAND_IN_PODS.items()}, (panel["title"], target["expr"], got)
        assert len(result) == len(STAND_IN_PODS), (panel["title"], result)
        assert "{{deployment}}" in target["legendFormat"] and "{{pod}}" in target["legendFormat"], target["legendFormat"]
        count += 1
    return count


def _start_sentinel(procs, tmp_path) -> None:
    """A Sentinel watching MASTER (quorum 1), for the Sentinel row's series."""
    work = tmp_path / "sentinel"
    work.mkdir()
    (work / "sentinel.conf").write_text(f"port 26379\nbind {SENTINEL}\ndir {work}\n"
                                       f"sentinel monitor mymaster {MASTER} 6379 1\n")
    procs.start([require("redis-sentinel"), str(work / "sentinel.conf")], work / "log")
    wait_for(lambda: port_open(SENTINEL, 26379), 10, what="sentinel")
