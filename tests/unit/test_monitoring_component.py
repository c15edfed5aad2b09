"""The Monitoring component as the real program registers it."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.conftest import BASE_CONFIG, run_with


@pytest.fixture(scope="module")
def run():
    return run_with(BASE_CONFIG | {"monitoring": {
        "prometheus": {
            "retention": "10d", "retentionSize": "20GB", "storageSize": "30Gi",
            "remoteWrite": [{"url": "https://lts.example.com/api/v1/push", "username": "u", "passwordSecret": "rw-creds"}],
            "staticTargets": [{"job": "django-app", "targets": ["django.web.svc:8000"]}],
        },
        "alertmanager": {"slackWebhookUrl": "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
                         "teamRoutes": [{"team": "web", "slackChannel": "#web-oncall"}]},
        "grafana": {"serviceType": "NodePort"},
    }})


def one(run, kind, name):
    (obj,) = run.k8s(kind, name)
    return obj


def test_all_in_the_monitoring_namespace(run):
    for m in run.kubernetes():
        if m["metadata"].get("labels", {}).get("redis-platform/environment") == "test":
            assert m["metadata"].get("namespace", "monitoring") == "monitoring", m["metadata"]["name"]


def test_prometheus_statefulset_retention_and_pvc(run):
    sts = one(run, "StatefulSet", "prometheus")
    server = sts["spec"]["template"]["spec"]["containers"][0]
    assert "--storage.tsdb.retention.time=10d" in server["args"]
    assert "--storage.tsdb.retention.size=20GB" in server["args"]
    assert "--web.enable-lifecycle" in server["args"]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "30Gi"
    assert claim["spec"]["storageClassName"] == "standard"


def test_prometheus_rbac_covers_service_discovery(run):
    role = next(r for r in run.k8s("ClusterRole") if r["metadata"]["name"].endswith("prometheus-discovery"))
    granted = {res for rule in role["rules"] for res in rule.get("resources", [])}
    assert {"nodes", "services", "endpoints", "endpointslices", "pods", "ingresses"} <= granted
    assert any(rule.get("nonResourceURLs") == ["/metrics"] for rule in role["rules"])
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
    binding = next(b for b in run.k8s("ClusterRoleBinding") if b["metadata"]["name"].endswith("prometheus-discovery"))
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}]


def test_prometheus_config_rendered_with_jobs_and_external_labels(run):
    cfg = yaml.safe_load(one(run, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    assert cfg["global"]["external_labels"] == {"cluster": "unit", "environment": "test"}
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert {"kubernetes-pods", "node-exporter", "cadvisor", "pushgateway", "alertmanager", "prometheus", "django-app"} <= set(jobs)
    assert jobs["pushgateway"]["honor_labels"] is True
    (rw,) = cfg["remote_write"]
    assert rw["url"] == "https://lts.example.com/api/v1/push"
    assert rw["basic_auth"]["password_file"] == "/etc/prometheus/secrets/rw-creds/password"
    sts = one(run, "StatefulSet", "prometheus")
    vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert vols["secret-rw-creds"]["secret"]["secretName"] == "rw-creds"


def test_rule_files_mounted_and_reloader_watches_them(run):
    rules = one(run, "ConfigMap", "prometheus-rules")["data"]
    assert {"redis.yml", "haproxy.yml", "node.yml", "containers.yml", "prometheus-self.yml"} <= set(rules)
    sts = one(run, "StatefulSet", "prometheus")
    containers = {c["name"]: c for c in sts["spec"]["template"]["spec"]["containers"]}
    mounts = {m["mountPath"] for m in containers["prometheus"]["volumeMounts"]}
    assert "/etc/prometheus/rules" in mounts
    env = {e["name"]: e["value"] for e in containers["config-reloader"]["env"]}
    assert "/etc/prometheus/rules" in env["WATCH_DIRS"]
    assert env["RELOAD_URL"].endswith("/-/reload")
    script = one(run, "ConfigMap", "prometheus-config")["data"]["config-reloader.sh"]
    assert "promtool check config" in script


def test_alertmanager_config_in_secret_with_webhook_file(run):
    secret = one(run, "Secret", "alertmanager-config")
    am = yaml.safe_load(secret["stringData"]["alertmanager.yml"])
    assert "XXXXSECRET" not in secret["stringData"]["alertmanager.yml"]
    assert secret["stringData"]["slack-webhook-url"].endswith("XXXXSECRET")
    files = {c["api_url_file"] for r in am["receivers"] for c in r.get("slack_configs", [])}
    assert files == {"/etc/alertmanager/secrets/slack-webhook-url"}
    assert any("team=\"web\"" in m for r in am["route"]["routes"] for m in r.get("matchers", []))
    assert am["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']
    for cm in run.k8s("ConfigMap"):
        assert all("XXXXSECRET" not in v for v in cm["data"].values())


def test_grafana_admin_password_datasource_dashboards(run):
    secret = one(run, "Secret", "grafana-admin")
    assert secret["stringData"]["admin-password"] in run.generated_secrets
    dep = one(run, "Deployment", "grafana")
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    # From the mounted Secret by the image's __FILE convention: no password
    # (nor a reference to one) in the environment.
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == {"name": "GF_SECURITY_ADMIN_PASSWORD__FILE",
                                                       "value": "/etc/grafana/secrets/admin-password"}
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env and not any("valueFrom" in e for e in env.values())
    pod = dep["spec"]["template"]["spec"]
    [admin] = [v for v in pod["volumes"] if v["name"] == "admin"]
    assert admin["secret"] == {"secretName": "grafana-admin", "defaultMode": 0o440}
    mount = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "admin"]
    assert mount == [{"name": "admin", "mountPath": "/etc/grafana/secrets", "readOnly": True}]
    ds = yaml.safe_load(one(run, "ConfigMap", "grafana-provisioning")["data"]["datasources.yaml"])
    assert ds["datasources"][0]["url"] == "http://prometheus.monitoring.svc:9090"
    boards = one(run, "ConfigMap", "grafana-dashboards")["data"]
    assert {"redis-overview.json", "nodes.json", "containers.json", "haproxy.json"} <= set(boards)
    for text in boards.values():
        assert json.loads(text)["panels"]
    svc = one(run, "Service", "grafana")
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["port"] == 3231
    claims = run.k8s("PersistentVolumeClaim", "grafana-data")
    assert claims and dep["spec"]["strategy"]["type"] == "Recreate"


def test_node_exporter_host_access_and_tolerations(run):
    ds = one(run, "DaemonSet", "node-exporter")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and pod["tolerations"] == [{"operator": "Exists"}]
    paths = {v["hostPath"]["path"] for v in pod["volumes"]}
    assert paths == {"/proc", "/sys", "/"}
    assert all(m["readOnly"] for m in pod["containers"][0]["volumeMounts"])


def test_cadvisor_seed_flags(run):
    ds = one(run, "DaemonSet", "cadvisor")
    c = ds["spec"]["template"]["spec"]["containers"][0]
    assert "--docker_only=false" in c["args"]
    assert "--housekeeping_interval=10s" in c["args"] and "--storage_duration=1m" in c["args"]
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/rootfs", "/var/run", "/sys", "/dev/disk"}


def test_pushgateway_and_outputs(run):
    one(run, "Deployment", "pushgateway")
    svc = one(run, "Service", "pushgateway")
    assert svc["spec"]["ports"][0]["port"] == 9091
    out = run.outputs["monitoring"]
    assert out["prometheusUrl"] == "http://prometheus.monitoring.svc:9090"
    assert out["grafanaUrl"] == "http://grafana.monitoring.svc:3231"
    assert out["pushgatewayUrl"] == "http://pushgateway.monitoring.svc:9091"
    assert out["alertmanagerUrl"] == "http://alertmanager.monitoring.svc:9093"


def test_services_match_scrape_job_port_names(run):
    cfg = yaml.safe_load(one(run, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    text = json.dumps(cfg)
    for svc, port_name in (("node-exporter", "metrics"), ("cadvisor", "metrics"), ("pushgateway", "http"), ("alertmanager", "http")):
        s = one(run, "Service", svc)
        assert s["spec"]["ports"][0]["name"] == port_name
        assert svc in text


def test_disabled_exporters_are_not_created():
    run = run_with(BASE_CONFIG | {"monitoring": {"cadvisor": {"enabled": False}, "pushgateway": {"enabled": False}}})
    assert not run.k8s("DaemonSet", "cadvisor")
    assert not run.k8s("Deployment", "pushgateway")
    assert run.outputs["monitoring"]["pushgatewayUrl"] is None


def test_monitoring_can_be_disabled():
    run = run_with(BASE_CONFIG | {"monitoring": {"enabled": False}})
    assert not run.k8s("StatefulSet", "prometheus")
    assert "monitoring" not in run.outputs
