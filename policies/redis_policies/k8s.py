"""Reading Kubernetes objects as the policy engine passes them.

The engine hands a policy the resource's inputs as read-only Mapping/Sequence
proxies (not dicts or lists), numbers as floats, and camelCase field names.
Everything here therefore tests for Mapping/Sequence, never dict/list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Pulumi type token -> Kubernetes kind, for the kinds whose objects run pods.
WORKLOAD_TYPES = {
    "kubernetes:core/v1:Pod": "Pod",
    "kubernetes:core/v1:ReplicationController": "ReplicationController",
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
    "kubernetes:apps/v1:ReplicaSet": "ReplicaSet",
    "kubernetes:batch/v1:Job": "Job",
    "kubernetes:batch/v1:CronJob": "CronJob",
}
SERVICE_TYPE = "kubernetes:core/v1:Service"
CONFIG_MAP_TYPE = "kubernetes:core/v1:ConfigMap"
STATEFUL_SET_TYPE = "kubernetes:apps/v1:StatefulSet"
JOB_TYPE = "kubernetes:batch/v1:Job"


def get(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]..., or None as soon as a step is missing."""
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def items(value: Any) -> list[Any]:
    """A Sequence field as a list; absent or malformed is empty."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def describe(props: Mapping[str, Any], fallback: str = "") -> str:
    """kind namespace/name, for messages an SRE can grep for."""
    kind = get(props, "kind") or "object"
    name = get(props, "metadata", "name") or fallback
    ns = get(props, "metadata", "namespace")
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def pod_template(kind: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The object holding the pod's metadata and spec, or None for other kinds."""
    if kind == "Pod":
        return props
    if kind == "CronJob":
        return get(props, "spec", "jobTemplate", "spec", "template")
    if kind in WORKLOAD_TYPES.values():
        return get(props, "spec", "template")
    return None


def containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field, container) for app, init and ephemeral containers."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in items(get(pod_spec, field)):
            if isinstance(container, Mapping):
                yield field, container


def labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(get(obj, "metadata", "labels"))


def annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(get(obj, "metadata", "annotations"))


def as_int(value: Any) -> int | None:
    """The engine sends integers as floats, annotations as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
