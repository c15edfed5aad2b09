"""The bootstrap Job's zone discovery against a real API server: the dev
stack applied as rendered, its StatefulSet's pods made by the real
controller and bound to nodes the way the scheduler binds them, then the
rendered init container's script run with kubectl under a token of the
rendered ServiceAccount (so the rendered Role and ClusterRole are what allow
it). It writes the lines cluster-bootstrap.sh reads, and the same lines into
the ConfigMap the data pods mount for their self-repair; the same token is
refused everything else (another ConfigMap included).

Difference from a pod: the token reaches kubectl through a kubeconfig, not
the projected volume's in-cluster files.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s_client

from tests.e2e import kube
from tests.e2e.conftest import render
from tests.integration.procs import wait_for

NS, DEP = "redis-stack", "sessions"
NODES = {"node-a": "zone-a", "node-b": "zone-b", "node-c": None}


@pytest.fixture(scope="module")
def stack(control_plane, dyn, tmp_path_factory) -> dict[str, Any]:
    manifests = render("dev", tmp_path_factory.mktemp("render"))
    assert kube.apply_all(dyn, manifests) == {}
    [job] = [m for m in manifests if m["kind"] == "Job" and m["metadata"]["name"].startswith(f"{DEP}-bootstrap-")]
    spec = job["spec"]["template"]["spec"]
    [cm] = [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == f"{DEP}-bootstrap"]
    zone_map = next((m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == f"{DEP}-zones"), None)
    return {"init": spec["initContainers"][0], "sa": spec["serviceAccountName"], "script": cm["data"]["cluster-zones.sh"],
            "zone_map": zone_map}


def _core(control_plane) -> k8s_client.CoreV1Api:
    from kubernetes import config as kube_config

    return k8s_client.CoreV1Api(kube_config.new_client_from_config(config_file=str(control_plane.kubeconfig), context="e2e"))


def _token_kubeconfig(control_plane, core: k8s_client.CoreV1Api, sa: str, path: Path) -> Path:
    req = k8s_client.AuthenticationV1TokenRequest(spec=k8s_client.V1TokenRequestSpec(audiences=["https://kubernetes.default.svc.cluster.local"], expiration_seconds=600))
    token = core.create_namespaced_service_account_token(sa, NS, req).status.token
    doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    doc["users"] = [{"name": sa, "user": {"token": token}}]
    doc["contexts"] = [{"name": "sa", "context": {"cluster": "e2e", "user": sa, "namespace": NS}}]
    doc["current-context"] = "sa"
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def _run(tools: Path, stack: dict[str, Any], kubeconfig: Path, tmp: Path, **extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    script = tmp / "cluster-zones.sh"
    script.write_text(stack["script"])
    out = tmp / "node-zones"
    env = {e["name"]: e["value"] for e in stack["init"]["env"]} | {
        "OUT": str(out), "HOME": str(tmp), "KUBECONFIG": str(kubeconfig), "KUBECTL": str(tools / "kubectl"),
        "PATH": os.environ["PATH"], **extra}
    proc = subprocess.run(["dash", str(script)], env=env, capture_output=True, text=True, timeout=180)
    print(proc.stdout, proc.stderr)
    return proc, out


def test_zones_of_every_pod_with_only_the_rendered_rights(tools, control_plane, dyn, stack, tmp_path):
    core = _core(control_plane)
    pods = stack["init"]["env"]
    names = next(e["value"] for e in pods if e["name"] == "ZONE_PODS").split()
    assert names == [f"{DEP}-{i}" for i in range(6)]
    wait_for(lambda: all(kube.get(dyn, "v1", "Pod", n, NS) for n in names), timeout=60, interval=0.5,
             what="the StatefulSet controller's pods")
    kubeconfig = _token_kubeconfig(control_plane, core, stack["sa"], tmp_path / "sa.kubeconfig")

    # Not scheduled yet: nothing is written, the bootstrap pairs without zones.
    proc, out = _run(tools, stack, kubeconfig, tmp_path, ZONE_TIMEOUT_SECONDS="3")
    assert proc.returncode == 0 and out.exists() and out.read_text() == ""
    assert f"pod {DEP}-0 has no node" in proc.stdout

    for node, zone in NODES.items():
        labels = {"kubernetes.io/hostname": node} | ({"topology.kubernetes.io/zone": zone} if zone else {})
        kube.apply(dyn, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": labels}})
    placed = {name: list(NODES)[i % 3] for i, name in enumerate(names)}
    for name, node in placed.items():
        body = k8s_client.V1Binding(metadata=k8s_client.V1ObjectMeta(name=name),
                                    target=k8s_client.V1ObjectReference(kind="Node", name=node))
        core.create_namespaced_pod_binding(name, NS, body, _preload_content=False)

    proc, out = _run(tools, stack, kubeconfig, tmp_path)
    assert proc.returncode == 0, proc.stderr
    suffix = f".{DEP}-headless.{NS}.svc.cluster.local"
    want = {f"{name}{suffix}": NODES[node] or f"host:{node}" for name, node in placed.items()}
    got = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert got == want
    # The same lines in the ConfigMap the data pods mount (rendered empty,
    # written by the script with the rendered Role's `patch`).
    assert f"zone map written to ConfigMap {DEP}-zones" in proc.stdout
    zone_map = core.read_namespaced_config_map(f"{DEP}-zones", NS)
    assert zone_map.data == {"node-zones": out.read_text()}
    assert stack["zone_map"] is not None and not stack["zone_map"].get("data")

    # The same token: no listing pods, no other pod, no Secret, no node list.
    def refused(*args: str) -> str:
        p = subprocess.run([str(tools / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0, (args, p.stdout)
        return p.stderr

    assert "forbidden" in refused("get", "pods", "-n", NS)
    assert "forbidden" in refused("get", "secret", f"{DEP}-auth", "-n", NS)
    assert "forbidden" in refused("get", "nodes")
    assert "forbidden" in refused("get", "pod", "cache-0", "-n", NS)
    # ConfigMaps: that one only; no other one patched, none listed or created.
    patch = ["--type", "merge", "-p", '{"data":{"node-zones":"x"}}']
    assert "forbidden" in refused("patch", "configmap", "cache-zones", "-n", NS, *patch)
    assert "forbidden" in refused("patch", "configmap", f"{DEP}-config", "-n", NS, *patch)
    assert "forbidden" in refused("get", "configmaps", "-n", NS)
    assert "forbidden" in refused("create", "configmap", "other", "-n", NS, "--from-literal=a=b")
    assert "forbidden" in refused("delete", "configmap", f"{DEP}-zones", "-n", NS)

    # A token the Role does not cover (another deployment's pods): the script
    # says so, writes nothing and lets the bootstrap go on.
    proc, out = _run(tools, stack, kubeconfig, tmp_path, ZONE_PODS="cache-0")
    assert proc.returncode == 0 and out.read_text() == ""
    assert "cannot read pod cache-0" in proc.stdout and "forbidden" in proc.stderr
    # ... and leaves the published map as it was (the last good one).
    assert core.read_namespaced_config_map(f"{DEP}-zones", NS).data == {"node-zones": "".join(
        f"{h}={z}\n" for h, z in want.items())}

    # A ConfigMap the Role does not name: the patch is refused, the script
    # says so and still succeeds (the file is written, formation goes on).
    proc, out = _run(tools, stack, kubeconfig, tmp_path, ZONE_MAP_CONFIGMAP="cache-zones")
    assert proc.returncode == 0 and dict(line.split("=", 1) for line in out.read_text().splitlines()) == want
    assert "could not write ConfigMap cache-zones" in proc.stdout and "forbidden" in proc.stderr
