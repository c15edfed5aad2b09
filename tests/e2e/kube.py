"""Talk to the local API server with the official Kubernetes Python client.

Objects go in by server-side apply, the way the Pulumi Kubernetes provider
sends them when server-side apply is on: the server validates, defaults and
admits each object, and rejects what it would reject from any client.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import config as kube_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ApiException, NotFoundError, ResourceNotFoundError

FIELD_MANAGER = "redis-platform-e2e"
# Objects others refer to go first, as the engine orders them by dependency.
_FIRST = ("CustomResourceDefinition", "Namespace", "StorageClass", "ServiceAccount", "ClusterRole", "Role")


def connect(kubeconfig: Path, context: str = "e2e") -> DynamicClient:
    api = kube_config.new_client_from_config(config_file=str(kubeconfig), context=context)
    return DynamicClient(api)


def load_render(folder: Path) -> list[dict[str, Any]]:
    """Every object an offline render wrote, CRDs first (the layout's own order)."""
    files = sorted(folder.glob("0-crd/*.yaml")) + sorted(folder.glob("1-manifest/*.yaml"))
    return [yaml.safe_load(f.read_text()) for f in files]


def ordered(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(m: dict[str, Any]) -> int:
        return _FIRST.index(m["kind"]) if m["kind"] in _FIRST else len(_FIRST)

    return sorted(manifests, key=rank)


def key(manifest: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"])


def _resource(dyn: DynamicClient, manifest: dict[str, Any]):
    return dyn.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])


def apply(dyn: DynamicClient, manifest: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
    """Server-side apply one object; raises ApiException with the server's reason."""
    meta = manifest["metadata"]
    kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
    if dry_run:
        kwargs["dry_run"] = "All"
    if meta.get("namespace"):
        kwargs["namespace"] = meta["namespace"]
    return _resource(dyn, manifest).server_side_apply(body=manifest, name=meta["name"], **kwargs).to_dict()


def apply_all(dyn: DynamicClient, manifests: list[dict[str, Any]]) -> dict[tuple, str]:
    """Apply every object in dependency order; returns the server's refusals by object."""
    refused: dict[tuple, str] = {}
    for manifest in ordered(manifests):
        try:
            apply(dyn, manifest)
        except ApiException as exc:
            refused[key(manifest)] = reason(exc)
    return refused


def install_crds(dyn: DynamicClient, crds: list[dict[str, Any]], manifests: list[dict[str, Any]],
                 timeout: float = 30) -> None:
    """Install the CRDs (another project's, e.g. cert-manager's) whose kinds
    ``manifests`` use, as the cluster's operator would have, and wait until
    the server serves them (bounded)."""
    used = {(m["apiVersion"], m["kind"]) for m in manifests}
    for crd in crds:
        spec = crd["spec"]
        kinds = {(f"{spec['group']}/{v['name']}", spec["names"]["kind"]) for v in spec["versions"]}
        if not kinds & used:
            continue
        apply(dyn, crd)
        deadline = time.monotonic() + timeout
        for api_version, kind in kinds & used:
            while True:
                try:
                    dyn.resources.invalidate_cache()
                    dyn.resources.get(api_version=api_version, kind=kind)
                    break
                except ResourceNotFoundError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the API server never served {api_version} {kind}") from None
                    time.sleep(0.5)


def get(dyn: DynamicClient, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
    res = dyn.resources.get(api_version=api_version, kind=kind)
    try:
        return res.get(name=name, namespace=namespace or None).to_dict()
    except NotFoundError:
        return None


def listing(dyn: DynamicClient, api_version: str, kind: str, namespace: str = "", selector: str = "") -> list[dict]:
    res = dyn.resources.get(api_version=api_version, kind=kind)
    kwargs: dict[str, Any] = {}
    if selector:
        kwargs["label_selector"] = selector
    return res.get(namespace=namespace or None, **kwargs).to_dict()["items"]


def delete(dyn: DynamicClient, manifest: dict[str, Any], propagation: str = "Background") -> None:
    meta = manifest["metadata"]
    _resource(dyn, manifest).delete(
        name=meta["name"], namespace=meta.get("namespace") or None, body={"propagationPolicy": propagation}
    )


def reason(exc: ApiException) -> str:
    """The server's own message for a refusal, one line."""
    try:
        body = yaml.safe_load(exc.body) if exc.body else {}
    except yaml.YAMLError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return f"{exc.status}: {message or exc.reason}".replace("\n", " ")
