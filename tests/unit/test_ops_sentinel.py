"""Node-group migration of a Sentinel deployment: what each `pulumi up` step
(migration.step replicas, promote, retire, then generation + 1) registers."""

from __future__ import annotations

import pytest

from components.operations.scripts import MIGRATE_SENTINEL, ops_scripts
from stacks.config import load_stack_config
from tests.unit.conftest import BASE_CONFIG, run_with
from tests.unit.test_backup import SENTINEL, cronjob_pod, env_of

OLD_GROUP = {"node.kubernetes.io/pool": "redis-v1"}
NEW_GROUP = {"node.kubernetes.io/pool": "redis-v2"}
TAINT = {"key": "dedicated", "operator": "Equal", "value": "redis-v2", "effect": "NoSchedule"}
DOMAIN = "cache-headless.redis.svc.cluster.local"


def migrate(step: str | None, generation: int = 0, placement: dict = OLD_GROUP) -> dict:
    dep = SENTINEL | {"generation": generation, "placement": {"nodeSelector": placement}}
    if step:
        dep["migration"] = {"nodeSelector": NEW_GROUP, "tolerations": [TAINT], "step": step}
    return BASE_CONFIG | {"deployments": [dep]}


@pytest.fixture(scope="module")
def runs():
    return {step: run_with(migrate(step)) for step in ("replicas", "promote", "retire")}


def data_sets(run) -> dict[str, dict]:
    return {s["metadata"]["name"]: s for s in run.k8s("StatefulSet") if s["metadata"]["name"] in ("cache", "cache-g1")}


def haproxy_cfg(run) -> str:
    (cm,) = run.k8s("ConfigMap", "cache-haproxy-config")
    return cm["data"]["haproxy.cfg"]


def migration_job(run) -> dict:
    (job,) = [j for j in run.k8s("Job") if "-migrate-" in j["metadata"]["name"]]
    return job


def test_sentinel_migration_is_accepted_by_the_config():
    cfg = load_stack_config(migrate("replicas"))
    assert cfg.deployments[0].migration.step == "replicas"


@pytest.mark.parametrize("step", ["replicas", "promote"])
def test_both_generations_run_under_one_headless_service_and_haproxy_lists_both(runs, step):
    sets = data_sets(runs[step])
    assert set(sets) == {"cache", "cache-g1"}
    old, new = sets["cache"], sets["cache-g1"]
    assert old["spec"]["template"]["spec"]["nodeSelector"] == OLD_GROUP
    assert new["spec"]["template"]["spec"]["nodeSelector"] == NEW_GROUP
    assert TAINT in new["spec"]["template"]["spec"]["tolerations"]
    assert old["spec"]["serviceName"] == new["spec"]["serviceName"] == "cache-headless"
    assert new["spec"]["replicas"] == old["spec"]["replicas"] == 3
    assert new["spec"]["selector"]["matchLabels"]["redis-platform/generation"] == "1"
    assert "redis-platform/generation" not in old["spec"]["selector"]["matchLabels"]
    # Same pod template otherwise: the new pods run the start script that
    # asks the Sentinels for the master and follows it.
    old_c, new_c = (s["spec"]["template"]["spec"]["containers"][0] for s in (old, new))
    assert new_c["command"] == old_c["command"] and new_c["command"][-1].endswith("sentinel-redis-start.sh")
    # Cold-start candidates stay the current generation's pods: the current
    # StatefulSet's template does not change when the migration starts.
    assert env_of(new_c)["REDIS_HOSTS"] == env_of(old_c)["REDIS_HOSTS"] == " ".join(f"cache-{i}.{DOMAIN}" for i in range(3))
    cfg = haproxy_cfg(runs[step])
    for host in [f"cache-{i}.{DOMAIN}" for i in range(3)] + [f"cache-g1-{i}.{DOMAIN}" for i in range(3)]:
        assert host in cfg, host


def test_the_old_statefulset_is_unchanged_while_the_new_one_joins():
    before = data_sets(run_with(migrate(None)))["cache"]
    during = data_sets(run_with(migrate("replicas")))["cache"]
    assert during["spec"] == before["spec"], "adding the next generation must not roll the current pods"


def test_retire_drops_the_old_statefulset_and_haproxy_lists_only_the_new_pods(runs):
    run = runs["retire"]
    assert set(data_sets(run)) == {"cache-g1"}
    cfg = haproxy_cfg(run)
    assert f"cache-g1-0.{DOMAIN}" in cfg
    assert all(f"cache-{i}.{DOMAIN}" not in cfg for i in range(3))
    assert run.outputs["redis-cache"]["statefulSet"] == "cache-g1"


@pytest.mark.parametrize("step", ["replicas", "promote", "retire"])
def test_each_step_is_a_job_running_the_sentinel_migration_script(runs, step):
    job = migration_job(runs[step])
    spec = job["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["command"] == ["sh", f"/scripts/{MIGRATE_SENTINEL}"]
    env = env_of(c)
    assert env["STEP"] == step and env["MODE"] == "sentinel" and env["MASTER_SET"] == "mymaster"
    assert env["OLD_NODES"].split() == [f"cache-{i}.{DOMAIN}" for i in range(3)]
    assert env["NEW_NODES"].split() == [f"cache-g1-{i}.{DOMAIN}" for i in range(3)]
    assert env["SENTINEL_HOSTS"].split()[0] == "cache-sentinel-0.cache-sentinel-headless.redis.svc.cluster.local"
    # The migration runs as the admin ACL user, with that user's Secret.
    assert env["REDIS_USER"] == "admin"
    assert env["REDISCLI_AUTH"]["secretKeyRef"]["name"] == "cache-acl-admin"
    assert spec["serviceAccountName"] == "cache-ops" and spec["restartPolicy"] == "Never"
    (vol,) = [v for v in spec["volumes"] if v["name"] == "ops-scripts"]
    assert vol["configMap"]["name"] == "cache-ops"
    assert {MIGRATE_SENTINEL, "ops-lib.sh"} <= {i["key"] for i in vol["configMap"]["items"]}
    (cm,) = runs[step].k8s("ConfigMap", "cache-ops")
    assert cm["data"][MIGRATE_SENTINEL] == ops_scripts()[MIGRATE_SENTINEL]
    # A client of the deployment, so its NetworkPolicy lets the Job in.
    assert job["spec"]["template"]["metadata"]["labels"]["redis-platform/client-of"] == "cache"
    assert runs[step].outputs["redis-cache"]["ops"]["migrationJob"] == f"job/{job['metadata']['name']}"


def test_each_step_is_a_new_job(runs):
    names = {migration_job(r)["metadata"]["name"] for r in runs.values()}
    assert len(names) == 3


def test_after_the_migration_only_the_new_generation_remains():
    run = run_with(migrate(None, generation=1, placement=NEW_GROUP))
    assert set(data_sets(run)) == {"cache-g1"}
    assert [j for j in run.k8s("Job") if "-migrate-" in j["metadata"]["name"]] == []
    (sts,) = run.k8s("StatefulSet", "cache-g1")
    c = sts["spec"]["template"]["spec"]["containers"][0]
    # A cold start elects among the new generation's pods.
    assert env_of(c)["REDIS_HOSTS"] == " ".join(f"cache-g1-{i}.{DOMAIN}" for i in range(3))
    (cm,) = run.k8s("ConfigMap", "cache-config")
    assert f"sentinel monitor mymaster cache-g1-0.{DOMAIN} 6379" in cm["data"]["sentinel.conf"]
    assert all(f"cache-{i}.{DOMAIN}" not in haproxy_cfg(run) for i in range(3))
    drill = env_of(cronjob_pod(run, "cache-failover-drill")["containers"][0])
    assert drill["MASTER_SET"] == "mymaster"
