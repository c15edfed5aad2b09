"""Kubernetes object fragments every component uses: labels, metadata,
security contexts, resources. Plain dicts in the API's own camelCase, so the
rendered manifests read like the ones SREs write by hand."""

from __future__ import annotations

import hashlib
from typing import Any

from components.common.redis_contract import PASSWORD_KEY

PART_OF = "redis-platform"
MANAGED_BY = "pulumi"
# Pod annotation the platform's policy pack requires on any hostNetwork pod:
# host networking must be a visible, deliberate choice.
ALLOW_HOST_NETWORK = "redis-platform/allow-host-network"


def selector_labels(name: str, instance: str, component: str) -> dict[str, str]:
    """The immutable subset used in selectors (a StatefulSet selector cannot change)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def selector_of(object_labels: dict[str, str]) -> dict[str, str]:
    """The selector subset of a full label set made by ``labels``."""
    return {k: object_labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")}


def claim_spec(storage_class: str, size: str) -> dict[str, Any]:
    """A ReadWriteOnce PersistentVolumeClaim spec (also a volumeClaimTemplate's spec)."""
    return {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class, "resources": {"requests": {"storage": size}}}


def data_claim_template(object_labels: dict[str, str], storage_class: str, size: str) -> dict[str, Any]:
    """A StatefulSet's volumeClaimTemplate named ``data``. With program-owned
    claims (components/common/claims.py) give it the selector labels only:
    the template can never change."""
    return {"metadata": {"name": "data", "labels": object_labels}, "spec": claim_spec(storage_class, size)}


# A StatefulSet's controller keeps claims when pods or the StatefulSet go away.
RETAIN_CLAIMS = {"whenDeleted": "Retain", "whenScaled": "Retain"}


def labels(name: str, instance: str, component: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    out = selector_labels(name, instance, component)
    out["app.kubernetes.io/part-of"] = PART_OF
    out["app.kubernetes.io/managed-by"] = MANAGED_BY
    if extra:
        out.update(extra)
    return out


def metadata(
    name: str,
    namespace: str | None,
    object_labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": object_labels}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def container_security_context(
    run_as_user: int | None = None, read_only_root: bool = True
) -> dict[str, Any]:
    """Restrictive default: non-root, no escalation, no capabilities, RuntimeDefault seccomp."""
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        ctx["runAsUser"] = run_as_user
        ctx["runAsGroup"] = run_as_user
    return ctx


def pod_security_context(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str, cpu_limit: str | None = None, memory_limit: str | None = None) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit or cpu, "memory": memory_limit or memory},
    }


def secret_env(env_name: str, secret_name: str, key: str = PASSWORD_KEY, optional: bool = False) -> dict[str, Any]:
    """``optional``: a missing Secret leaves the variable unset instead of
    keeping the whole pod from starting (for Secrets the program does not make)."""
    ref: dict[str, Any] = {"name": secret_name, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": env_name, "valueFrom": {"secretKeyRef": ref}}


def config_hash(data: dict[str, str]) -> str:
    """Changes whenever the ConfigMap text changes; as a pod annotation it
    makes the pods roll on a config change."""
    digest = hashlib.sha256()
    for key in sorted(data):
        digest.update(key.encode() + b"\0" + data[key].encode() + b"\0")
    return digest.hexdigest()[:16]
