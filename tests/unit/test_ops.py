"""Ops resources: the restore and failover-drill templates (suspended
CronJobs), and the node-group migration's StatefulSets and step Jobs."""

from __future__ import annotations

import pytest

from tests.unit.conftest import BASE_CONFIG, run_with
from tests.unit.test_backup import CLUSTER, S3, SENTINEL, cronjob_pod, env_of

NEW_GROUP = {"node.kubernetes.io/pool": "redis-v2"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_deployment_has_a_suspended_drill_and_restore_template(stack, dev_run, prod_run):
    run = dev_run if stack == "dev" else prod_run
    for dep in [k.removeprefix("redis-") for k in run.outputs if k.startswith("redis-")]:
        for name in (f"{dep}-failover-drill", f"{dep}-restore"):
            (cj,) = run.k8s("CronJob", name)
            assert cj["spec"]["suspend"] is True, name
            assert cj["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
        assert env_of(cronjob_pod(run, f"{dep}-failover-drill")["containers"][0])["DRILL_MODE"] == "graceful"
        restore = cronjob_pod(run, f"{dep}-restore")
        assert env_of(restore["containers"][0])["REPLACE"] == "no"
        assert env_of(restore["initContainers"][0])["BACKUP_PATH"] == "latest"
        ops = run.outputs[f"redis-{dep}"]["ops"]
        assert ops["failoverDrill"] == f"cronjob/{dep}-failover-drill"


def test_sentinel_drill_writes_through_haproxy_and_uses_the_handover_script():
    run = run_with(BASE_CONFIG | {"backup": S3, "deployments": [SENTINEL]})
    pod = cronjob_pod(run, "cache-failover-drill")
    env = env_of(pod["containers"][0])
    assert env["WRITE_HOST"] == "cache.redis.svc.cluster.local"
    assert env["HANDOVER_SCRIPT"] == "/redis-scripts/sentinel-redis-prestop.sh"
    assert {"name": "redis-scripts", "configMap": {"name": "cache-config", "defaultMode": 0o555}} in pod["volumes"]
    (cj,) = run.k8s("CronJob", "cache-failover-drill")
    # A client of the deployment as far as HAProxy's NetworkPolicy goes.
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["redis-platform/client-of"] == "cache"


def migrate(step: str | None, generation: int = 0) -> dict:
    dep = CLUSTER | {"generation": generation, "placement": {"nodeSelector": {"node.kubernetes.io/pool": "redis-v1"}}}
    if step:
        dep["migration"] = {"nodeSelector": NEW_GROUP, "step": step}
    return BASE_CONFIG | {"deployments": [dep]}


def test_migration_runs_a_second_statefulset_on_the_new_nodes_and_a_job_per_step():
    run = run_with(migrate("replicas"))
    (old,) = run.k8s("StatefulSet", "sessions")
    (new,) = run.k8s("StatefulSet", "sessions-g1")
    assert old["spec"]["template"]["spec"]["nodeSelector"] == {"node.kubernetes.io/pool": "redis-v1"}
    assert new["spec"]["template"]["spec"]["nodeSelector"] == NEW_GROUP
    assert new["spec"]["serviceName"] == "sessions-headless" and new["spec"]["replicas"] == 6
    assert new["spec"]["selector"]["matchLabels"]["redis-platform/generation"] == "1"
    (job,) = [j for j in run.k8s("Job") if "-migrate-" in j["metadata"]["name"]]
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert env["STEP"] == "replicas"
    assert env["OLD_NODES"].split()[0] == "sessions-0.sessions-headless.redis.svc.cluster.local"
    assert env["NEW_NODES"].split()[-1] == "sessions-g1-5.sessions-headless.redis.svc.cluster.local"
    names = {s: [j["metadata"]["name"] for j in run_with(migrate(s)).k8s("Job") if "-migrate-" in j["metadata"]["name"]][0]
             for s in ("promote", "retire")}
    assert len({job["metadata"]["name"], *names.values()}) == 3, "each step is a new Job"


def test_after_the_migration_only_the_new_generation_remains():
    run = run_with(migrate(None, generation=1))
    assert run.k8s("StatefulSet", "sessions") == []
    (sts,) = run.k8s("StatefulSet", "sessions-g1")
    (boot,) = [j for j in run.k8s("Job") if "-bootstrap-" in j["metadata"]["name"]]
    assert env_of(boot["spec"]["template"]["spec"]["containers"][0])["STATEFULSET_NAME"] == "sessions-g1"
    assert run.outputs["redis-sessions"]["seedEndpoints"][0].startswith("sessions-g1-0.sessions-headless.")
    drill = env_of(cronjob_pod(run, "sessions-failover-drill")["containers"][0])
    assert drill["CLUSTER_NODES"].split()[0].startswith("sessions-g1-0.")

