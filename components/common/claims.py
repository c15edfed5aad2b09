"""Volumes of StatefulSets that must survive every config edit: the program
creates each pod's claim itself, before the StatefulSet, whose controller
adopts it by name; the StatefulSet's claim template holds only what never
changes (its selector labels), and the engine leaves the template alone.

Why: the API server refuses any edit to ``volumeClaimTemplates`` and the
Kubernetes provider answers one by replacing the StatefulSet, every pod at
once, while the size in the template would still never reach a claim that
exists. Program-owned claims change in place: a larger size is a volume
expansion, labels follow config, and a claim leaving the program (scale-in,
a removed component) stays in the cluster with its data.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import RETAIN_CLAIMS, claim_spec, data_claim_template, metadata

# What the engine leaves alone on such a StatefulSet after creating it.
CLAIM_TEMPLATES_IGNORED = ("spec.volumeClaimTemplates",)


def claim_name(statefulset: str, ordinal: int) -> str:
    """The name the StatefulSet controller gives the ``data`` claim of pod ``ordinal``."""
    return f"data-{statefulset}-{ordinal}"


def owned_claims(parent: pulumi.Resource, resource_prefix: str, namespace: str, statefulset: str, replicas: int,
                 claim_labels: dict[str, str], storage_class: str, size: str) -> list[k8s.core.v1.PersistentVolumeClaim]:
    """One claim per pod, named as the controller would name it; Pulumi
    resource names ``<resource_prefix>-data-<i>``."""
    return [
        k8s.core.v1.PersistentVolumeClaim(
            f"{resource_prefix}-data-{i}",
            metadata=metadata(claim_name(statefulset, i), namespace, claim_labels),
            spec=claim_spec(storage_class, size),
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
        )
        for i in range(replicas)
    ]


def owned_volumes(parent: pulumi.Resource, resource_prefix: str, namespace: str, statefulset: str, replicas: int,
                  selector: dict[str, str], claim_labels: dict[str, str], storage_class: str,
                  size: str) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
    """For a StatefulSet with one ``data`` volume per pod: creates the claims,
    and returns the spec fields (a template of selector labels only, claims
    retained) and the StatefulSet's resource options (after its claims, the
    template left alone)."""
    claims = owned_claims(parent, resource_prefix, namespace, statefulset, replicas, claim_labels, storage_class, size)
    fields = {
        "volumeClaimTemplates": [data_claim_template(selector, storage_class, size)],
        "persistentVolumeClaimRetentionPolicy": RETAIN_CLAIMS,
    }
    return fields, pulumi.ResourceOptions(parent=parent, depends_on=claims, ignore_changes=list(CLAIM_TEMPLATES_IGNORED))
