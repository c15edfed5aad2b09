"""The cluster bootstrap Job learns each pod's zone with the narrowest access
that allows it: only its init container holds a (short-lived) token, which may
get the deployment's own pods by name and get nodes, and get/patch the one
ConfigMap it publishes the zone map in (which the data pods mount for their
self-repair), nothing else; the container with the Redis password has no
token. Off: none of it exists."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from tests.unit.conftest import BASE_CONFIG, run_with

CLUSTER = {"name": "shop", "team": "web", "mode": "cluster", "size": "small", "cluster": {"shards": 3}}


def _run(**cluster: Any):
    dep = CLUSTER | {"cluster": CLUSTER["cluster"] | cluster}
    return run_with(BASE_CONFIG | {"redisNamespace": "redis", "deployments": [dep]})


def _job(run) -> dict[str, Any]:
    [job] = [j for j in run.k8s("Job") if j["metadata"]["name"].startswith("shop-bootstrap-")]
    return job["spec"]["template"]["spec"]


def test_only_the_init_container_gets_a_token_and_the_bootstrap_reads_its_zones():
    run = _run()
    spec = _job(run)
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "shop-bootstrap"
    [init] = spec["initContainers"]
    [boot] = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    token_mounts = {m["name"] for m in init["volumeMounts"]} & {n for n, v in volumes.items() if "projected" in v}
    assert token_mounts == {"api-token"}
    sources = volumes["api-token"]["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["expirationSeconds"] <= 3600
    assert not {m["name"] for m in boot["volumeMounts"]} & token_mounts
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["ZONE_PODS"].split() == [f"shop-{i}" for i in range(6)]
    assert env["HOST_SUFFIX"] == ".shop-headless.redis.svc.cluster.local"
    assert env["TOPOLOGY_KEY"] == "topology.kubernetes.io/zone"
    assert not any("valueFrom" in e for e in init["env"]), "the init container holds no secret"
    boot_env = {e["name"]: e.get("value") for e in boot["env"]}
    assert boot_env["NODE_ZONES_FILE"] == env["OUT"]
    zones_mount = next(m for m in boot["volumeMounts"] if m["name"] == "zones")
    assert zones_mount["readOnly"] is True and env["OUT"].startswith(zones_mount["mountPath"] + "/")
    [cm] = run.k8s("ConfigMap", "shop-bootstrap")
    assert "cluster-zones.sh" in cm["data"]


def test_rbac_is_get_on_own_pods_by_name_and_get_on_nodes():
    run = _run()
    [role] = run.k8s("Role", "shop-bootstrap")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": [f"shop-{i}" for i in range(6)]},
        # The zone map for the data pods: that one ConfigMap, never list or create.
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"], "resourceNames": ["shop-zones"]},
    ]
    [binding] = run.k8s("RoleBinding", "shop-bootstrap")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "shop-bootstrap", "namespace": "redis"}]
    assert binding["roleRef"]["name"] == "shop-bootstrap"
    [node_role] = [r for r in run.k8s("ClusterRole") if r["metadata"]["name"] == "redis-platform:redis:shop-bootstrap-nodes"]
    assert node_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
    [node_binding] = [b for b in run.k8s("ClusterRoleBinding") if b["roleRef"]["name"] == node_role["metadata"]["name"]]
    assert node_binding["subjects"] == binding["subjects"]
    [policy] = run.k8s("NetworkPolicy", "shop-bootstrap")
    ports = {p["port"] for r in policy["spec"]["egress"] for p in r["ports"]}
    assert ports == {6379, 443, 6443}


def _data_pod(run) -> dict[str, Any]:
    [sts] = run.k8s("StatefulSet", "shop")
    return sts["spec"]["template"]["spec"]


def test_zone_map_configmap_is_the_jobs_to_write_and_the_data_pods_read_it(monkeypatch):
    seen: dict[str, Any] = {}
    real = k8s.core.v1.ConfigMap

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name, *args, opts=None, **kwargs):
            seen[resource_name] = opts
            super().__init__(resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(k8s.core.v1, "ConfigMap", Recording)
    run = _run()
    [cm] = run.k8s("ConfigMap", "shop-zones")
    # Created empty; a `pulumi up` never overwrites what the Job wrote.
    assert not cm.get("data")
    assert list(seen["shop-zone-map"].ignore_changes) == ["data"]
    assert cm["metadata"]["labels"]["app.kubernetes.io/instance"] == "shop"
    # The init container writes it, with the key the data pods read.
    init = {e["name"]: e.get("value") for e in _job(run)["initContainers"][0]["env"]}
    assert init["ZONE_MAP_CONFIGMAP"] == "shop-zones"
    spec = _data_pod(run)
    [vol] = [v for v in spec["volumes"] if v.get("configMap", {}).get("name") == "shop-zones"]
    assert vol["configMap"]["optional"] is True, "a pod must start before the first map exists"
    [redis] = [c for c in spec["containers"] if c["name"] == "redis"]
    [mount] = [m for m in redis["volumeMounts"] if m["name"] == vol["name"]]
    assert mount["readOnly"] is True
    env = {e["name"]: e.get("value") for e in redis["env"]}
    assert env["NODE_ZONES_FILE"] == f"{mount['mountPath']}/{init['ZONE_MAP_KEY']}"
    # Only the redis container (which runs cluster-repair.sh) mounts it.
    for c in spec["containers"]:
        if c["name"] != "redis":
            assert vol["name"] not in {m["name"] for m in c.get("volumeMounts", [])}


def test_off_means_no_token_no_rbac_no_api_egress():
    run = _run(zoneDiscovery={"enabled": False})
    assert not run.k8s("ConfigMap", "shop-zones")
    data = _data_pod(run)
    assert not [v for v in data["volumes"] if v.get("configMap", {}).get("name") == "shop-zones"]
    assert "NODE_ZONES_FILE" not in {e["name"] for c in data["containers"] for e in c.get("env", [])}
    spec = _job(run)
    assert "initContainers" not in spec and "serviceAccountName" not in spec
    assert not run.k8s("Role", "shop-bootstrap") and not run.k8s("ServiceAccount", "shop-bootstrap")
    assert not [r for r in run.k8s("ClusterRole") if "shop-bootstrap" in r["metadata"]["name"]]
    [policy] = run.k8s("NetworkPolicy", "shop-bootstrap")
    assert {p["port"] for r in policy["spec"]["egress"] for p in r["ports"]} == {6379}
    assert "NODE_ZONES_FILE" not in {e["name"] for e in spec["containers"][0]["env"]}


def test_a_custom_topology_key_reaches_the_script():
    spec = _job(_run(zoneDiscovery={"topologyKey": "example.com/rack"}))
    env = {e["name"]: e.get("value") for e in spec["initContainers"][0]["env"]}
    assert env["TOPOLOGY_KEY"] == "example.com/rack"
