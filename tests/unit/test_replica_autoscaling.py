"""Sentinel read replicas under a HorizontalPodAutoscaler: the object, who
owns the data StatefulSet's replica count, and HAProxy knowing every pod the
autoscaler may add.

The mock runtime does not pass resource options to the mocks, so the
StatefulSet constructor is wrapped to record the options it was given.
"""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from tests.unit.conftest import BASE_CONFIG, run_with

AUTO = {"name": "cache", "team": "web", "mode": "sentinel", "size": "small",
        "sentinel": {"replicas": 2, "autoscaling": {"maxReplicas": 5, "cpuTargetPercent": 60}}}
FIXED = {"name": "sessions", "team": "web", "mode": "sentinel", "size": "small"}


@pytest.fixture
def recorded_options(monkeypatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    real = k8s.apps.v1.StatefulSet

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name, *args, opts=None, **kwargs):
            seen[resource_name] = opts
            super().__init__(resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(k8s.apps.v1, "StatefulSet", Recording)
    return seen


def test_autoscaler_on_the_data_statefulset_between_configured_and_maximum(recorded_options):
    run = run_with(BASE_CONFIG | {"deployments": [AUTO, FIXED]})
    [hpa] = run.k8s("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["metadata"]["name"] == "cache" and hpa["metadata"]["namespace"] == "redis"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "cache"}
    # Pods: the master and 2..5 replicas.
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 6)
    assert spec["metrics"] == [{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "redis", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    # The container the metric names exists in the data pods.
    [sts] = run.k8s("StatefulSet", "cache")
    assert "redis" in [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]]
    assert sts["spec"]["replicas"] == 3
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_engine_leaves_the_replica_count_to_the_autoscaler(recorded_options):
    run_with(BASE_CONFIG | {"deployments": [AUTO, FIXED]})
    auto = list(recorded_options["cache-statefulset"].ignore_changes)
    fixed = list(recorded_options["sessions-statefulset"].ignore_changes)
    assert "spec.replicas" in auto and "spec.volumeClaimTemplates" in auto
    # Without an autoscaler the program keeps owning the count.
    assert "spec.replicas" not in fixed and "spec.volumeClaimTemplates" in fixed
    # Sentinels are not autoscaled.
    assert "spec.replicas" not in list(recorded_options["cache-sentinel-statefulset"].ignore_changes or [])


def test_haproxy_lists_every_pod_the_autoscaler_may_add():
    run = run_with(BASE_CONFIG | {"deployments": [AUTO, FIXED]})
    cfgs = {c["metadata"]["name"]: c["data"]["haproxy.cfg"] for c in run.k8s("ConfigMap") if "haproxy.cfg" in c.get("data", {})}
    cache = next(v for k, v in cfgs.items() if k.startswith("cache"))
    sessions = next(v for k, v in cfgs.items() if k.startswith("sessions"))
    for i in range(6):
        assert f"cache-{i}.cache-headless.redis.svc.cluster.local:6379" in cache
    assert "cache-6." not in cache
    assert "sessions-3." not in sessions and "sessions-2." in sessions


@pytest.mark.parametrize("version", ["1.28", "1.31"])
def test_every_object_validates_strictly_with_autoscaling_and_monitoring_backups(version):
    import kubernetes_validate
    s3 = {"kind": "s3", "endpoint": "http://minio:9000", "bucketName": "backups", "credentialsSecret": "s3-creds"}
    run = run_with(BASE_CONFIG | {"kubernetesVersion": version, "deployments": [AUTO, FIXED], "backup": s3})
    docs = run.kubernetes()
    assert any(d["kind"] == "HorizontalPodAutoscaler" for d in docs)
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
