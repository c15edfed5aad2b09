"""Policies on the pods every workload runs: limits, host network, pinned images."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .k8s import WORKLOAD_TYPES, annotations, containers, describe, get, mapping, pod_template
from .mandatory import resource_policy

# The pod-template annotation a component sets when a person chose host networking
# (redis-platform deployments[].hostNetwork: true; node-exporter).
HOST_NETWORK_ANNOTATION = "redis-platform/allow-host-network"
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _pod(args: ResourceValidationArgs) -> tuple[str, Mapping, Mapping] | None:
    """(what, pod template, pod spec) of a workload, or None if the resource runs no pods."""
    kind = WORKLOAD_TYPES.get(args.resource_type)
    if kind is None:
        return None
    template = pod_template(kind, args.props)
    if template is None:
        return None
    return describe(args.props, args.name), template, mapping(get(template, "spec"))


def _containers(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Mapping]]:
    """(what, field, container) for each container of a workload's pods; none for other resources."""
    pod = _pod(args)
    if pod is not None:
        what, _, spec = pod
        for field, container in containers(spec):
            yield what, field, container


def validate_container_limits(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for what, field, container in _containers(args):
        if field == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral (debug) containers
        limits = mapping(get(container, "resources", "limits"))
        missing = [r for r in ("cpu", "memory") if not limits.get(r)]
        if missing:
            report_violation(
                f"{what}: {field} '{container.get('name')}' has no {' or '.join(missing)} limit; "
                "without one a single container can starve its node (set resources.limits)",
                None,
            )


def validate_host_network(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    pod = _pod(args)
    if pod is None:
        return
    what, template, spec = pod
    if spec.get("hostNetwork") is True and annotations(template).get(HOST_NETWORK_ANNOTATION) != "true":
        report_violation(
            f"{what}: hostNetwork is on but the pod is not annotated {HOST_NETWORK_ANNOTATION}: \"true\"; "
            "host networking shares the node's ports and bypasses NetworkPolicy, so it must be chosen explicitly",
            None,
        )


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is."""
    if not image:
        return "has no image"
    if "@" in image:
        return None if _DIGEST.search(image) else f"image '{image}' has a malformed digest"
    last = image.rsplit("/", 1)[-1]  # a registry port (host:5000/x) is not a tag
    if ":" not in last:
        return f"image '{image}' has no tag (pulls whatever :latest is that day)"
    tag = last.split(":", 1)[1]
    if not tag or tag == "latest":
        return f"image '{image}' uses the moving tag ':{tag or ''}'"
    return None


def validate_pinned_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for what, field, container in _containers(args):
        problem = image_problem(str(container.get("image") or ""))
        if problem:
            report_violation(f"{what}: {field} '{container.get('name')}' {problem}; pin a version tag or digest", None)


container_limits = resource_policy(
    "container-resource-limits",
    "Every container and init container of every workload has cpu and memory limits.",
    validate_container_limits,
)
no_host_network = resource_policy(
    "no-host-network",
    f"Pods do not use hostNetwork unless annotated {HOST_NETWORK_ANNOTATION}: \"true\".",
    validate_host_network,
)
pinned_images = resource_policy(
    "pinned-image-tags",
    "Container images are pinned to a version tag or digest: never untagged, never :latest.",
    validate_pinned_images,
)
