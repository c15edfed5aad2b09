"""Monitoring backups as the program builds them: the admin API only behind
the pod's loopback, the sidecars on the stack's store under their own prefix,
their IAM scope, the schedule the sidecar matches, and the staleness rule."""

from __future__ import annotations

import json

import pytest
import yaml

from components.monitoring import labels as L
from components.monitoring.backup import PROMETHEUS_LOOPBACK_PORT, SNAPSHOT_PATH
from stacks.cron import max_gap_seconds
from stacks.monitoring_backup import cron_fields
from tests.unit.conftest import BASE_CONFIG, run_with

S3 = {"kind": "s3", "endpoint": "http://minio:9000", "bucketName": "backups", "credentialsSecret": "s3-creds"}
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-2.amazonaws.com/id/ABCDEF"
AWS = {"kind": "aws", "bucketName": "acme-backups", "region": "ap-northeast-2", "oidcProviderArn": OIDC}
DEP = {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"}


def _containers(pod_owner: dict) -> dict[str, dict]:
    return {c["name"]: c for c in pod_owner["spec"]["template"]["spec"]["containers"]}


def _env(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.fixture(scope="module")
def s3_run():
    return run_with(BASE_CONFIG | {"deployments": [DEP], "backup": S3, "monitoring": {"backup": {"schedule": "15 */6 * * *"}}})


def test_prometheus_admin_api_only_on_loopback_behind_the_guard(s3_run):
    [sts] = s3_run.k8s("StatefulSet", "prometheus")
    c = _containers(sts)
    server = c["prometheus"]
    assert "--web.enable-admin-api" in server["args"]
    assert f"--web.listen-address=127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}" in server["args"]
    # The pod's web port, the one the Service targets, is the guard's.
    [svc] = s3_run.k8s("Service", "prometheus")
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    owners = [n for n, cont in c.items() if any(p.get("name") == "http" for p in cont.get("ports", []))]
    assert owners == ["web-guard"]
    assert c["web-guard"]["ports"][0]["containerPort"] == L.PROMETHEUS_PORT
    [guard_cm] = s3_run.k8s("ConfigMap", "prometheus-web-guard")
    cfg = guard_cm["data"]["web-guard.cfg"]
    assert f"server local 127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}" in cfg and "url_dec -m sub -i admin" in cfg
    # Probes and the reloader reach the server on loopback, inside the pod.
    assert f"127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}/-/healthy" in " ".join(server["livenessProbe"]["exec"]["command"])
    assert _env(c["config-reloader"])["RELOAD_URL"] == f"http://127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}/-/reload"
    assert _env(c["backup"])["SNAPSHOT_URL"] == f"http://127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}{SNAPSHOT_PATH}"


def test_without_a_store_prometheus_is_unchanged():
    run = run_with(BASE_CONFIG | {"deployments": [DEP]})
    [sts] = run.k8s("StatefulSet", "prometheus")
    c = _containers(sts)
    assert set(c) == {"prometheus", "config-reloader"}
    assert "--web.enable-admin-api" not in c["prometheus"]["args"]
    assert not run.k8s("ConfigMap", "prometheus-web-guard")
    [grafana] = run.k8s("Deployment", "grafana")
    assert set(_containers(grafana)) == {"grafana"}
    rules = yaml.safe_load(run.k8s("ConfigMap", "prometheus-rules")[0]["data"]["monitoring-backup.yml"])
    assert rules == {"groups": []}


def test_sidecars_use_the_stack_store_under_the_monitoring_prefix(s3_run):
    [sts] = s3_run.k8s("StatefulSet", "prometheus")
    [grafana] = s3_run.k8s("Deployment", "grafana")
    for owner, kind in ((sts, "prometheus"), (grafana, "grafana")):
        env = _env(_containers(owner)["backup"])
        assert env["KIND"] == kind
        assert (env["BUCKET"], env["PREFIX"], env["S3_ENDPOINT"]) == ("backups", "monitoring", "http://minio:9000")
        # Credentials by Secret reference only, optional: a missing Secret
        # must not keep Prometheus or Grafana from starting; the script names
        # it (CREDENTIALS_SECRET) in its log and the backup goes stale.
        assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "s3-creds", "key": "secretAccessKey",
                                                                 "optional": True}}
        assert env["CREDENTIALS_SECRET"] == "s3-creds"
        assert (env["CRON_MINUTE"], env["CRON_HOUR"], env["CRON_DOM"]) == ("15", "0,6,12,18", ",".join(map(str, range(1, 32))))
        assert env["PUSHGATEWAY_URL"] == "http://pushgateway.monitoring.svc:9091"
    # Grafana's sidecar reads the database, it never writes it.
    mounts = {m["name"]: m for m in _containers(grafana)["backup"]["volumeMounts"]}
    assert mounts["data"]["readOnly"] is True and mounts["data"]["mountPath"] == "/var/lib/grafana"
    assert grafana["spec"]["template"]["spec"]["serviceAccountName"] == "grafana"


def test_stale_rule_rendered_with_the_schedules_allowance(s3_run):
    rules = yaml.safe_load(s3_run.k8s("ConfigMap", "prometheus-rules")[0]["data"]["monitoring-backup.yml"])
    [rule] = rules["groups"][0]["rules"]
    assert rule["alert"] == "MonitoringBackupStale"
    allowance = 6 * 3600 + 3600
    assert f'{{component="prometheus"}} > {allowance})' in rule["expr"]
    assert f'{{component="grafana"}} > {allowance})' in rule["expr"]


def test_aws_role_is_its_own_and_limited_to_the_monitoring_prefix():
    run = run_with(BASE_CONFIG | {"deployments": [DEP], "backup": AWS})
    roles = {r.name: r.inputs for r in run.of_type("aws:iam/role:Role")}
    policies = {r.name: json.loads(r.inputs["policy"]) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    trust = json.loads(roles["monitoring-backup-role"]["assumeRolePolicy"])
    subjects = trust["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.ap-northeast-2.amazonaws.com/id/ABCDEF:sub"]
    assert subjects == ["system:serviceaccount:monitoring:grafana", "system:serviceaccount:monitoring:prometheus"]
    statements = policies["monitoring-backup-access"]["Statement"]
    resources = [st["Resource"] for st in statements]
    assert resources == ["arn:aws:s3:::acme-backups", "arn:aws:s3:::acme-backups/monitoring/*"]
    assert statements[0]["Condition"]["StringLike"]["s3:prefix"] == ["monitoring/*", "monitoring"]
    assert not any("Delete" in a for st in statements for a in st["Action"])
    # No Redis backup role (one per deployment) names the monitoring pods.
    redis_roles = [r for name, r in roles.items() if name.startswith("backup-")]
    assert redis_roles
    for role in redis_roles:
        assert "monitoring" not in json.dumps(json.loads(role["assumeRolePolicy"]))
    for sa_name in ("prometheus", "grafana"):
        [sa] = run.k8s("ServiceAccount", sa_name)
        assert "eks.amazonaws.com/role-arn" in sa["metadata"]["annotations"]


@pytest.mark.parametrize("schedule", ["30 2 * * *", "0 */6 * * *", "15 3 1,15 * *", "0 4 * * 1-5", "0 0 1 * 1", "@daily", "@weekly"])
def test_cron_fields_match_the_same_minutes_as_cron(schedule):
    """The sidecar's matcher, in Python, runs exactly when the schedule's gaps say."""
    from datetime import datetime, timedelta, timezone
    f = cron_fields(schedule)
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    runs = []
    while t < datetime(2024, 3, 1, tzinfo=timezone.utc):
        dow = t.isoweekday() % 7
        day = (t.day in f.dom or dow in f.dow) if f.day_or else (t.day in f.dom and dow in f.dow)
        if t.minute in f.minute and t.hour in f.hour and t.month in f.month and day:
            runs.append(t)
        t += timedelta(minutes=1)
    gaps = {int((b - a).total_seconds()) for a, b in zip(runs, runs[1:])}
    expanded = {"@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}.get(schedule, schedule)
    assert max(gaps) == max_gap_seconds(expanded)
    if schedule == "0 0 1 * 1":
        # Both day fields restricted: the 1st OR a Monday.
        assert f.day_or and datetime(2024, 1, 8, tzinfo=timezone.utc) in runs and datetime(2024, 2, 1, tzinfo=timezone.utc) in runs
