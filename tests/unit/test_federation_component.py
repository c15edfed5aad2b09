"""The Federation component as the real program registers it, with lower
servers from config and from mocked StackReferences."""

from __future__ import annotations

import contextvars
import json

import kubernetes_validate
import pytest
import yaml
from pulumi.runtime.settings import SETTINGS

from stacks.harness import STACK_REFERENCE, RecordingMocks, run_program
from stacks.program import main as program_main
from tests.unit.conftest import BASE_CONFIG, to_runtime

NS = "monitoring-global"
STAGING = "acme/redis-platform/staging"
DEV = "acme/redis-platform/dev"
STAGING_OUTPUT = {
    "monitoring": {
        "federateUrl": "http://prometheus.mon-staging.svc:9090/federate",
        "prometheusUrl": "http://prometheus.mon-staging.svc:9090",
        "externalLabels": {"cluster": "staging-1", "environment": "staging"},
    }
}
FEDERATION = {
    "enabled": True,
    "lower": [
        {"name": "local", "url": "http://prometheus.monitoring.svc:9090"},
        {"name": "edge", "targets": ["prom-a.edge.example.com:9443", "prom-b.edge.example.com:9443"], "scheme": "https",
         "username": "fed", "passwordSecret": "edge-auth", "caSecret": "edge-ca", "serverName": "prom.edge.internal"},
    ],
    "stackReferences": [
        {"name": "staging", "stack": STAGING},
        {"name": "dev", "stack": DEV, "url": "https://prom-dev.example.com/federate", "insecureSkipVerify": True},
    ],
    "selectors": ['{__name__=~"redis_memory_max_bytes"}'],
    "retention": "60d",
    "storageSize": "80Gi",
    "remoteWrite": [{"url": "https://lts.example.com/api/v1/push", "username": "global", "passwordSecret": "global-rw"}],
}


def run_federation(federation: dict, stack_outputs: dict | None = None, **extra):
    mocks = RecordingMocks(stack_outputs={STAGING: STAGING_OUTPUT} if stack_outputs is None else stack_outputs)

    def isolated():
        # A failing run leaves its pending output tasks in this shared set.
        SETTINGS.outputs = set()
        return run_program(program_main, to_runtime(BASE_CONFIG | {"federation": federation} | extra), mocks=mocks)

    return contextvars.copy_context().run(isolated)


@pytest.fixture(scope="module")
def run():
    return run_federation(FEDERATION)


def one(run, kind, name):
    (obj,) = [m for m in run.k8s(kind, name) if m["metadata"].get("namespace") == NS]
    return obj


def prometheus_yml(run) -> dict:
    return yaml.safe_load(one(run, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])


def jobs(run) -> dict:
    return {j["job_name"]: j for j in prometheus_yml(run)["scrape_configs"]}


def test_a_job_per_lower_server_labelled_with_its_source(run):
    j = jobs(run)
    assert set(j) == {"prometheus", "federate-local", "federate-edge", "federate-staging", "federate-dev"}
    for name in ("local", "edge", "staging", "dev"):
        job = j[f"federate-{name}"]
        assert job["honor_labels"] is True and job["metrics_path"] == "/federate"
        (static,) = job["static_configs"]
        assert static["labels"] == {"source_prometheus": name}
        assert (job["scrape_interval"], job["scrape_timeout"]) == ("60s", "45s")
    assert j["federate-local"]["static_configs"][0]["targets"] == ["prometheus.monitoring.svc:9090"]
    assert j["federate-edge"]["static_configs"][0]["targets"] == ["prom-a.edge.example.com:9443", "prom-b.edge.example.com:9443"]
    assert j["federate-edge"]["scheme"] == "https" and j["federate-local"]["scheme"] == "http"


def test_stack_references_read_federate_url_or_use_the_override(run):
    refs = run.of_type(STACK_REFERENCE)
    assert sorted(r.inputs["name"] for r in refs) == [DEV, STAGING]
    j = jobs(run)
    # From the mocked stack output: the in-cluster name of that stack's Prometheus.
    assert j["federate-staging"]["static_configs"][0]["targets"] == ["prometheus.mon-staging.svc:9090"]
    assert j["federate-staging"]["scheme"] == "http"
    # dev's stack output is unknown here; its configured external URL is used.
    assert j["federate-dev"]["static_configs"][0]["targets"] == ["prom-dev.example.com"]
    assert j["federate-dev"]["scheme"] == "https"


def test_match_defaults_plus_extra_selectors(run):
    for job in (j for n, j in jobs(run).items() if n.startswith("federate-")):
        assert job["params"]["match[]"] == [
            '{__name__=~"job:.*"}', '{__name__="up"}',
            '{__name__=~"redis_up|redis_instance_info|redis_cluster_state"}',
            '{__name__=~"redis_memory_max_bytes"}',
        ]


def test_selectors_can_replace_the_defaults():
    r = run_federation({"enabled": True, "lower": [{"name": "a", "targets": ["p:9090"]}],
                        "selectors": ['{__name__=~"job:redis_.*"}', "up"], "replaceDefaultSelectors": True})
    assert jobs(r)["federate-a"]["params"]["match[]"] == ['{__name__=~"job:redis_.*"}', "up"]


def test_basic_auth_by_password_file_from_a_mounted_secret(run):
    j = jobs(run)
    assert j["federate-edge"]["basic_auth"] == {
        "username": "fed", "password_file": "/etc/prometheus/secrets/edge-auth/password"}
    assert "basic_auth" not in j["federate-local"]
    pod = one(run, "StatefulSet", "prometheus")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for secret in ("edge-auth", "edge-ca", "global-rw"):
        assert volumes[f"secret-{secret}"]["secret"]["secretName"] == secret
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert {"/etc/prometheus/secrets/edge-auth", "/etc/prometheus/secrets/edge-ca"} <= mounts


def test_tls_settings(run):
    j = jobs(run)
    assert j["federate-edge"]["tls_config"] == {
        "ca_file": "/etc/prometheus/secrets/edge-ca/ca.crt", "server_name": "prom.edge.internal"}
    assert j["federate-dev"]["tls_config"] == {"insecure_skip_verify": True}
    assert "tls_config" not in j["federate-local"]


def test_remote_write_and_external_labels(run):
    cfg = prometheus_yml(run)
    (rw,) = cfg["remote_write"]
    assert rw["url"] == "https://lts.example.com/api/v1/push"
    assert rw["basic_auth"] == {"username": "global", "password_file": "/etc/prometheus/secrets/global-rw/password"}
    assert cfg["global"]["external_labels"] == {"cluster": "unit", "environment": "global"}


def test_alerts_go_to_the_environment_alertmanager(run):
    cfg = prometheus_yml(run)
    assert cfg["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["alertmanager.monitoring.svc:9093"]}]
    r = run_federation({"enabled": True, "lower": [{"name": "a", "targets": ["p:9090"]}],
                        "alertmanagerUrl": "http://am.ops.svc:9093"}, monitoring={"enabled": False})
    assert prometheus_yml(r)["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["am.ops.svc:9093"]}]
    assert not r.k8s("StatefulSet", "alertmanager")


def test_global_rules_mounted_and_watched(run):
    rules = one(run, "ConfigMap", "prometheus-rules")["data"]
    assert set(rules) == {"federation.yml", "prometheus-self.yml"}
    names = {r.get("alert") for g in yaml.safe_load(rules["federation.yml"])["groups"] for r in g["rules"]}
    assert {"FederatedPrometheusDown", "RedisDeploymentDown", "RedisDeploymentDegraded"} <= names
    assert prometheus_yml(run)["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    pod = one(run, "StatefulSet", "prometheus")["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert "/etc/prometheus/rules" in {m["mountPath"] for m in containers["prometheus"]["volumeMounts"]}
    env = {e["name"]: e["value"] for e in containers["config-reloader"]["env"]}
    assert "/etc/prometheus/rules" in env["WATCH_DIRS"]


def test_statefulset_retention_and_volume(run):
    sts = one(run, "StatefulSet", "prometheus")
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--storage.tsdb.retention.time=60d" in args
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "80Gi"
    assert claim["spec"]["storageClassName"] == "standard"


def test_global_grafana_shows_the_fleet_dashboard_on_the_global_prometheus(run):
    ds = yaml.safe_load(one(run, "ConfigMap", "grafana-provisioning")["data"]["datasources.yaml"])
    (source,) = ds["datasources"]
    assert source["url"] == f"http://prometheus.{NS}.svc:9090"
    boards = one(run, "ConfigMap", "grafana-dashboards")["data"]
    assert set(boards) == {"redis-fleet.json"}
    fleet = json.loads(boards["redis-fleet.json"])
    uids = {p["datasource"]["uid"] for p in fleet["panels"] if p["type"] != "row"}
    uids |= {v["datasource"]["uid"] for v in fleet["templating"]["list"]}
    assert uids == {source["uid"]} == {"global-prometheus"}
    exprs = " ".join(t["expr"] for p in fleet["panels"] for t in p.get("targets", []))
    assert "job:redis_up:sum" in exprs and "federate-.+" in exprs
    one(run, "Deployment", "grafana")
    r = run_federation({"enabled": True, "lower": [{"name": "a", "targets": ["p:9090"]}], "grafana": {"enabled": False}})
    assert not [m for m in r.k8s("Deployment", "grafana") if m["metadata"]["namespace"] == NS]


def test_own_namespace_restricted_and_every_object_validates(run):
    (ns,) = run.k8s("Namespace", NS)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    objs = [m for m in run.kubernetes() if m["metadata"].get("namespace") == NS
            or m["metadata"]["name"].startswith(f"{NS}-")]
    assert {m["kind"] for m in objs} >= {"StatefulSet", "ConfigMap", "Service", "Deployment", "Secret"}
    for m in objs:
        assert m["metadata"]["labels"]["redis-platform/environment"] == "global"
        kubernetes_validate.validate(m, "1.31", strict=True)


def test_pods_meet_pod_security_restricted(run):
    pods = [m["spec"]["template"]["spec"] for kind in ("StatefulSet", "Deployment")
            for m in run.k8s(kind) if m["metadata"]["namespace"] == NS]
    assert len(pods) == 2
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert not pod.get("hostNetwork") and not pod.get("hostPID")
        assert {k for v in pod["volumes"] for k in v if k != "name"} <= {"configMap", "secret", "emptyDir", "persistentVolumeClaim"}
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            assert sc["seccompProfile"]["type"] == "RuntimeDefault"


def test_no_secret_value_in_any_config_map(run):
    texts = [v for m in run.k8s("ConfigMap") for v in m["data"].values()]
    for secret in run.generated_secrets:
        assert not any(secret in t for t in texts)


def test_outputs(run):
    out = run.outputs["federation"]
    assert out["globalPrometheusUrl"] == f"http://prometheus.{NS}.svc:9090"
    assert out["globalFederateUrl"] == f"http://prometheus.{NS}.svc:9090/federate"
    assert out["grafanaUrl"] == f"http://grafana.{NS}.svc:3231"
    assert out["alertmanagerUrl"] == "http://alertmanager.monitoring.svc:9093"
    assert out["lowerServers"]["staging"] == ["http://prometheus.mon-staging.svc:9090/federate"]
    assert out["lowerServers"]["dev"] == ["https://prom-dev.example.com/federate"]
    assert len(out["lowerServers"]["edge"]) == 2


def test_reference_without_url_to_a_stack_without_monitoring_fails_naming_it():
    with pytest.raises(Exception) as err:
        run_federation({"enabled": True, "stackReferences": [{"name": "qa", "stack": "acme/redis-platform/qa"}]},
                       stack_outputs={})
    assert "acme/redis-platform/qa has no output monitoring.federateUrl" in str(err.value)


def test_disabled_by_default_registers_nothing():
    r = run_program(program_main, to_runtime(BASE_CONFIG))
    assert "federation" not in r.outputs
    assert not r.of_type(STACK_REFERENCE) and not r.k8s("Namespace", NS)


def test_prod_stack_hosts_the_global_prometheus(prod_run):
    cfg = yaml.safe_load(next(m for m in prod_run.k8s("ConfigMap", "prometheus-config")
                              if m["metadata"]["namespace"] == NS)["data"]["prometheus.yml"])
    j = {x["job_name"]: x for x in cfg["scrape_configs"]}
    assert j["federate-prod"]["static_configs"][0]["targets"] == ["prometheus.monitoring.svc:9090"]
    assert j["federate-dev"]["scheme"] == "https"
    assert j["federate-dev"]["basic_auth"]["password_file"].startswith("/etc/prometheus/secrets/")
    assert [r.inputs["name"] for r in prod_run.of_type(STACK_REFERENCE)] == ["acme/redis-platform/dev"]
    assert prod_run.outputs["federation"]["globalPrometheusUrl"] == f"http://prometheus.{NS}.svc:9090"


def test_global_prometheus_gets_no_kubernetes_api_access():
    from tests.unit.conftest import run_stack_file

    run = run_stack_file("prod")
    roles = [r["metadata"]["name"] for r in run.k8s("ClusterRole")]
    assert not [r for r in roles if r.startswith("monitoring-global")], roles
    assert [r for r in roles if r.startswith("monitoring-prometheus")]
