"""Monitoring renderers: structure and rules that hold without running anything."""

from __future__ import annotations

import json

import pytest
import yaml

from components.monitoring import labels as L
from components.monitoring.alertmanager_config import AlertmanagerSpec, TeamRoute, render_alertmanager_config
from components.monitoring.dashboards import DashboardSpec, render_dashboards, render_global_dashboards
from components.monitoring.federation_config import FederationSpec, LowerPrometheus, render_federation_config
from components.monitoring.grafana_provisioning import GrafanaSpec, render_dashboard_provider, render_datasources
from components.monitoring.prometheus_config import (PrometheusSpec, RemoteWrite, StaticJob, endpoint_target,
                                                     pod_target, render_prometheus_config)
from components.monitoring.rules import Alert, Record, RulesSpec, alerts, render_rule_files, rule_groups

SD_JOBS = {"kubernetes-pods", "node-exporter", "cadvisor", "pushgateway", "alertmanager"}


def _jobs(text: str) -> dict[str, dict]:
    return {j["job_name"]: j for j in yaml.safe_load(text)["scrape_configs"]}


def test_production_config_discovers_with_kubernetes_sd_and_labels_environment():
    conf = yaml.safe_load(render_prometheus_config(PrometheusSpec("eks-1", "prod")))
    assert conf["global"]["external_labels"] == {"cluster": "eks-1", "environment": "prod"}
    jobs = _jobs(render_prometheus_config(PrometheusSpec("eks-1", "prod")))
    for name in SD_JOBS:
        assert "kubernetes_sd_configs" in jobs[name] and "static_configs" not in jobs[name], name
    assert jobs["pushgateway"]["honor_labels"] is True
    targets = {r.get("target_label") for r in jobs["kubernetes-pods"]["relabel_configs"]}
    assert {"deployment", "team", "namespace", "pod", "__address__", "__metrics_path__", "__scheme__"} <= targets


def test_static_overrides_keep_job_names_and_relabeling():
    prod = _jobs(render_prometheus_config(PrometheusSpec("c", "dev")))
    overrides = {
        "kubernetes-pods": (pod_target("10.0.0.1:6379", pod="p", namespace="n", annotations={"prometheus.io/scrape": "true"}),),
        "node-exporter": (endpoint_target("10.0.0.2:9100", service="node-exporter", namespace="monitoring",
                                          port_name="metrics"),),
    }
    test = _jobs(render_prometheus_config(PrometheusSpec("c", "dev", static_overrides=overrides)))
    assert prod.keys() == test.keys()
    for name in prod:
        strip = lambda j: {k: v for k, v in j.items() if k not in ("kubernetes_sd_configs", "static_configs")}  # noqa: E731
        assert strip(prod[name]) == strip(test[name]), name
    [static] = test["kubernetes-pods"]["static_configs"]
    assert static["labels"]["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] == "true"


def test_bad_job_specs_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        render_prometheus_config(PrometheusSpec("c", "d", static_jobs=(StaticJob("prometheus", ("x:1",)),)))
    with pytest.raises(ValueError, match="do not exist"):
        render_prometheus_config(PrometheusSpec("c", "d", static_overrides={"nope": ()}))


def test_remote_write_names_a_password_file_never_a_password():
    text = render_prometheus_config(PrometheusSpec("c", "d", remote_write=(
        RemoteWrite("https://m/api/v1/write", username="w", password_file=f"{L.PROMETHEUS_SECRETS_DIR}/rw"),)))
    [rw] = yaml.safe_load(text)["remote_write"]
    assert rw["basic_auth"] == {"username": "w", "password_file": f"{L.PROMETHEUS_SECRETS_DIR}/rw"}
    assert "password:" not in text


def test_alertmanager_routes_teams_and_reads_webhooks_from_files():
    spec = AlertmanagerSpec(teams=(TeamRoute("payments", "#pay", "/s/pay"), TeamRoute("search", "#search")))
    text = render_alertmanager_config(spec)
    conf = yaml.safe_load(text)
    assert "api_url:" not in text and "hooks.slack.com" not in text
    files = {r["name"]: r["slack_configs"][0]["api_url_file"] for r in conf["receivers"]}
    assert files["team-payments"] == "/s/pay"
    # A team without its own webhook has no receiver posting with the
    # platform's webhook (that posts to the platform's channel, twice).
    assert "team-search" not in files
    routes = conf["route"]["routes"]
    assert [r["matchers"] for r in routes] == [['team="payments"'], ['team="search"'], ['severity="critical"']]
    assert routes[0]["continue"] is True  # critical team alerts also reach platform on-call
    assert routes[1]["receiver"] == "platform" and "continue" not in routes[1]
    assert routes[1]["routes"][0]["receiver"] == "platform-critical"
    inhibit = conf["inhibit_rules"][0]
    assert inhibit["equal"] == ["alertname", "deployment"]
    with pytest.raises(ValueError):
        render_alertmanager_config(AlertmanagerSpec(teams=(TeamRoute("a", "#a"), TeamRoute("a", "#b"))))


def test_rules_are_named_and_annotated_and_overrides_apply():
    groups = rule_groups(RulesSpec())
    for file_groups in groups.values():
        for g in file_groups:
            for r in g.rules:
                if isinstance(r, Record):
                    assert r.record.startswith("job:")
    names = {a.name for gs in groups.values() for a in alerts(gs)}
    assert {"RedisDown", "RedisClusterStateNotOk", "RedisNoMaster", "RedisMultipleMasters", "HAProxyNoMasterReachable",
            "NodeFilesystemFillingUp", "ContainerOOMKilled", "PrometheusTargetDown"} <= names
    text = render_rule_files(RulesSpec(for_overrides={"RedisDown": "2s"}))["redis.yml"]
    down = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if r.get("alert") == "RedisDown"]
    assert down[0]["for"] == "2s"
    with pytest.raises(ValueError):
        Alert("X", "up", "1m", "page", "s", "d")
    with pytest.raises(ValueError):
        Alert("X", "up", "1m", "warning", "{{ $value | humanize }}", "d")
    with pytest.raises(ValueError):
        Record("redis_up_sum", "sum(redis_up)")


def test_federation_pulls_aggregates_up_and_chosen_raw_series():
    spec = FederationSpec(lower=(LowerPrometheus("dev", ("p-dev:9090",)),
                                 LowerPrometheus("prod", ("p-prod:9090",), scheme="https", username="f",
                                                 password_file="/etc/prometheus/secrets/fed", ca_file="/ca.crt")))
    jobs = _jobs(render_federation_config(spec))
    dev, prod = jobs["federate-dev"], jobs["federate-prod"]
    assert dev["honor_labels"] is True and dev["metrics_path"] == "/federate"
    assert dev["params"]["match[]"] == ['{__name__=~"job:.*"}', '{__name__="up"}',
                                        '{__name__=~"redis_up|redis_instance_info|redis_cluster_state"}']
    assert dev["static_configs"][0]["labels"] == {"source_prometheus": "dev"}
    assert prod["basic_auth"] == {"username": "f", "password_file": "/etc/prometheus/secrets/fed"}
    assert prod["tls_config"] == {"ca_file": "/ca.crt"}
    with pytest.raises(ValueError):
        render_federation_config(FederationSpec(lower=(LowerPrometheus("a", ("x:1",)), LowerPrometheus("a", ("y:1",)))))


def test_grafana_provisioning_and_dashboards_agree_on_the_datasource():
    ds = yaml.safe_load(render_datasources(GrafanaSpec()))["datasources"][0]
    provider = yaml.safe_load(render_dashboard_provider(GrafanaSpec()))["providers"][0]
    assert provider["options"]["path"] == L.GRAFANA_DASHBOARDS_DIR and provider["allowUiUpdates"] is False
    spec = DashboardSpec(datasource_uid=ds["uid"])
    uids = set()
    for text in {**render_dashboards(spec), **render_global_dashboards(spec)}.values():
        data = json.loads(text)
        uids.add(data["uid"])
        for p in data["panels"]:
            if p["type"] != "row":
                assert p["datasource"]["uid"] == ds["uid"]
    assert len(uids) == 5


def _legends(text: str) -> list[tuple[str, str]]:
    data = json.loads(text)
    return [(p["title"], t["legendFormat"]) for p in data["panels"] if p["type"] != "row" for t in p["targets"]]


def test_every_legend_names_its_deployment_and_pod():
    """A legend that names a pod names its deployment too; the Redis, HAProxy
    and containers dashboards name the deployment on every series; node
    panels name the node, fleet panels the environment and deployment
    (tests/integration/monitoring/test_dashboards_live.py checks the labels
    the live series carry against these legends)."""
    boards = {**render_dashboards(DashboardSpec()), **render_global_dashboards(DashboardSpec())}
    for name, text in boards.items():
        for title, legend in _legends(text):
            if "{{pod}}" in legend or "{{container}}" in legend:
                assert "{{deployment}}" in legend, (name, title, legend)
            if name in ("redis-overview.json", "haproxy.json", "containers.json"):
                assert "{{deployment}}" in legend, (name, title, legend)
            if name == "nodes.json":
                assert "{{node}}" in legend, (name, title, legend)
    containers = _legends(boards["containers.json"])
    assert containers and all("{{pod}}" in legend for _, legend in containers)
    assert any("{{deployment}}" in legend for _, legend in _legends(boards["nodes.json"]))
    fleet = [legend for title, legend in _legends(boards["redis-fleet.json"]) if "{{" in legend]
    assert fleet and all("{{environment}}/{{deployment}}" in legend for legend in fleet)
