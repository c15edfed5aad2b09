"""The pre-roll Job (components/redis/preroll.py) under the mocks: every data
StatefulSet depends on its Job, the Job's name follows the pod template and
the topology and nothing else, it holds no token and reaches only its own
deployment, and a template-only change never plans a StatefulSet replacement.
"""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.redis.preroll import preroll_job_name
from tests.unit.conftest import BASE_CONFIG, run_with

DEPLOYMENTS = [
    {"name": "sessions", "team": "web", "mode": "cluster", "size": "small", "cluster": {"shards": 3}},
    {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"},
]
STATEFULSETS = ("sessions", "cache")


def _config(tls: bool = False, **per_deployment: Any) -> dict[str, Any]:
    deps = [d | per_deployment | ({"tls": {"enabled": True, "issuer": {"name": "ca"}}} if tls else {}) for d in DEPLOYMENTS]
    return BASE_CONFIG | {"redisNamespace": "redis", "deployments": deps}


def _with(name: str, **change: Any) -> dict[str, Any]:
    """One deployment changed, the other as it was."""
    deps = [d | change if d["name"] == name else d for d in DEPLOYMENTS]
    return BASE_CONFIG | {"redisNamespace": "redis", "deployments": deps}


def preroll_jobs(run) -> dict[str, dict]:
    """Data StatefulSet name -> its pre-roll Job."""
    return {j["metadata"]["name"].split("-preroll-")[0]: j for j in run.k8s("Job") if "-preroll-" in j["metadata"]["name"]}


def data_statefulsets(run) -> dict[str, dict]:
    return {s["metadata"]["name"]: s for s in run.k8s("StatefulSet") if s["metadata"]["name"] in STATEFULSETS}


@pytest.fixture
def recorded(monkeypatch) -> dict[str, Any]:
    """Resource name -> ResourceOptions of StatefulSets and Jobs, and each Job object's resource name."""
    seen: dict[str, Any] = {"opts": {}, "jobs": {}}
    for owner, cls_name in ((k8s.apps.v1, "StatefulSet"), (k8s.batch.v1, "Job")):
        real = getattr(owner, cls_name)

        class Recording(real):  # type: ignore[misc, valid-type]
            def __init__(self, resource_name, *args, opts=None, _kind=cls_name, **kwargs):
                seen["opts"][resource_name] = opts
                super().__init__(resource_name, *args, opts=opts, **kwargs)
                if _kind == "Job":
                    seen["jobs"][id(self)] = resource_name

        monkeypatch.setattr(owner, cls_name, Recording)
    return seen


def test_each_data_statefulset_waits_for_its_preroll_job(recorded):
    run = run_with(_config())
    assert set(preroll_jobs(run)) == set(STATEFULSETS)
    for sts in STATEFULSETS:
        deps = recorded["opts"][f"{sts}-statefulset"].depends_on
        assert f"{sts}-preroll" in {recorded["jobs"].get(id(d)) for d in deps}, sts
    # Cluster mode: the bootstrap Job (which could drain too) runs after it, never beside it.
    boot = recorded["opts"]["sessions-bootstrap"].depends_on
    assert "sessions-preroll" in {recorded["jobs"].get(id(d)) for d in boot}
    # The Sentinels roll after it too: its failover never meets restarting Sentinels
    # (on first create it finds no data pod and ends at once).
    assert "cache-preroll" in {recorded["jobs"].get(id(d)) for d in recorded["opts"]["cache-sentinel-statefulset"].depends_on}


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_job_runs_the_shipped_script_as_admin_without_a_token(tls):
    run = run_with(_config(tls=tls))
    for sts, job in preroll_jobs(run).items():
        spec = job["spec"]
        # A refused pre-roll runs again on the next `up` instead of being waited on.
        assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
        assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] > 0
        pod = spec["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
        assert pod["restartPolicy"] == "Never"
        (c,) = pod["containers"]
        script = "cluster-preroll.sh" if sts == "sessions" else "sentinel-preroll.sh"
        assert c["command"] == ["sh", f"/scripts/{script}"]
        env = {e["name"]: e for e in c["env"]}
        assert env["REDIS_USER"]["value"] == "admin"
        assert env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": f"{sts}-acl-admin", "key": "password"}
        items = [i["key"] for v in pod["volumes"] if v["name"] == "scripts" for i in v["configMap"]["items"]]
        assert items[0] == script and v_name_of(pod, "scripts") == f"{sts}-config"
        # The scripts it needs are in that ConfigMap.
        (cm,) = run.k8s("ConfigMap", f"{sts}-config")
        assert set(items) <= set(cm["data"])
        if sts == "sessions":
            assert env["SHARDS"]["value"] == "3" and env["STATEFULSET_NAME"]["value"] == "sessions"
        else:
            assert env["REDIS_HOSTS"]["value"].split()[0].startswith("cache-0.cache-headless.")
            assert len(env["SENTINEL_HOSTS"]["value"].split()) == 3
        if tls:
            assert env["REDIS_TLS"]["value"] == "yes"
            (tls_vol,) = [v for v in pod["volumes"] if v["name"] == "tls"]
            assert [i["key"] for i in tls_vol["secret"]["items"]] == ["ca.crt"]
        else:
            assert "REDIS_TLS" not in env
        labels = spec["template"]["metadata"]["labels"]
        assert labels["redis-platform/deployment"] == sts and "redis-platform/team" not in labels
        assert labels["app.kubernetes.io/component"] == "preroll"


def v_name_of(pod: dict, volume: str) -> str:
    return next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == volume)


def test_policy_lets_the_job_reach_its_own_deployment_only():
    run = run_with(_config())
    for dep, ports in (("sessions", {(6379, "cluster-node")}), ("cache", {(6379, "data-node"), (26379, "sentinel")})):
        (policy,) = run.k8s("NetworkPolicy", f"{dep}-preroll")
        spec = policy["spec"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "preroll"
        assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
        reach = set()
        for rule in spec["egress"]:
            (peer,) = rule["to"]
            sel = peer["podSelector"]["matchLabels"]
            assert sel["app.kubernetes.io/instance"] == dep and set(peer) == {"podSelector"}
            reach |= {(p["port"], sel["app.kubernetes.io/component"]) for p in rule["ports"]}
        assert reach == ports


@pytest.mark.parametrize(
    "dep, change, renames",
    [
        ("sessions", {"image": "redis:7.2.12-alpine"}, True),
        ("cache", {"image": "redis:7.2.12-alpine"}, True),
        ("sessions", {"size": "medium"}, True),
        ("cache", {"size": "medium"}, True),
        ("sessions", {"cluster": {"shards": 4}}, True),
        ("sessions", {"cluster": {"shards": 3, "replicasPerShard": 2}}, True),
        ("sessions", {"clients": {"podSelector": {"app": "shop"}}}, False),
        ("cache", {"clients": {"podSelector": {"app": "shop"}}}, False),
    ],
    ids=lambda v: str(v),
)
def test_job_name_follows_template_and_topology_only(dep, change, renames):
    before, after = run_with(_config()), run_with(_with(dep, **change))
    jb, ja = preroll_jobs(before), preroll_jobs(after)
    sb, sa = data_statefulsets(before), data_statefulsets(after)
    assert (jb[dep]["metadata"]["name"] != ja[dep]["metadata"]["name"]) is renames
    # Renamed exactly when the pods would roll or the topology changes.
    rolls = sb[dep]["spec"]["template"] != sa[dep]["spec"]["template"] or sb[dep]["spec"]["replicas"] != sa[dep]["spec"]["replicas"]
    assert rolls is renames
    # The other deployment's Job is untouched, and the same program twice names it the same.
    other = next(d for d in STATEFULSETS if d != dep)
    assert jb[other]["metadata"]["name"] == ja[other]["metadata"]["name"]
    assert preroll_jobs(run_with(_config()))[dep]["metadata"]["name"] == jb[dep]["metadata"]["name"]


def test_job_name_is_a_dns_label_with_its_statefulset_in_front():
    name = preroll_job_name("r" * 70, {"a": 1}, 3, {"SHARDS": "3"}, ("x",))
    assert len(name) <= 63 and name.split("-preroll-")[0] == "r" * (63 - len("-preroll-") - 10)
    assert preroll_job_name("s", {"a": 1}, 3, {}, ("x",)) != preroll_job_name("s", {"a": 2}, 3, {}, ("x",))
    assert preroll_job_name("s", {"a": 1}, 3, {}, ("x",)) != preroll_job_name("s", {"a": 1}, 3, {}, ("y",))
    assert preroll_job_name("s", {"a": 1}, 3, {}, ("x",)) == preroll_job_name("s", {"a": 1}, 3, {}, ("x",))


@pytest.mark.parametrize("dep", STATEFULSETS)
def test_an_image_change_updates_the_statefulset_in_place(dep, recorded):
    """What the API server refuses to change in place (selector, serviceName,
    podManagementPolicy, volumeClaimTemplates) stays the same; only the
    template differs, which a StatefulSet takes as a rolling update; and the
    resource asks for no replacement on any change."""
    before = data_statefulsets(run_with(_config()))[dep]
    after = data_statefulsets(run_with(_with(dep, image="redis:7.2.12-alpine")))[dep]
    for key in ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates", "replicas", "updateStrategy"):
        assert after["spec"][key] == before["spec"][key], key
    assert after["metadata"] == before["metadata"]
    assert after["spec"]["template"] != before["spec"]["template"]
    opts = recorded["opts"][f"{dep}-statefulset"]
    assert not opts.replace_on_changes and not opts.delete_before_replace
