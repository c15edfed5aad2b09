"""The data StatefulSets of one deployment: one per running generation, two
while a node-group migration (docs/operations.md) runs the next generation
beside the current one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.claims import CLAIM_TEMPLATES_IGNORED, claim_name, owned_claims  # noqa: F401
from components.common.k8s import metadata
from components.common.scheduling import PlacementArgs
from components.redis.common import RedisCommonArgs
from components.redis.statefulset import RedisPodSpec, statefulset_spec


def statefulset_name(deployment: str, generation: int) -> str:
    return deployment if generation == 0 else f"{deployment}-g{generation}"


def pod_hostnames(args: RedisCommonArgs, generation: int, pods: int) -> tuple[str, ...]:
    """Stable DNS names of the first ``pods`` pods of one generation's StatefulSet."""
    sts, domain = statefulset_name(args.name, generation), f"{args.namespace}.svc.{args.cluster_domain}"
    return tuple(f"{sts}-{i}.{args.name}-headless.{domain}" for i in range(pods))


# What the engine leaves alone on a data StatefulSet after creating it: the
# claim template's size follows config into new claims only through
# owned_claims, never by replacing the StatefulSet.
DATA_STATEFULSET_IGNORED = CLAIM_TEMPLATES_IGNORED


def data_claims(
    parent: pulumi.Resource, args: RedisCommonArgs, statefulset: str, replicas: int, claim_labels: dict[str, str]
) -> list[k8s.core.v1.PersistentVolumeClaim]:
    return owned_claims(parent, statefulset, args.namespace, statefulset, replicas, claim_labels,
                        args.storage_class_name, args.volume_size)


def data_statefulsets(
    parent: pulumi.Resource,
    args: RedisCommonArgs,
    pod: RedisPodSpec,
    generations: tuple[tuple[int, PlacementArgs], ...],
    replicas: int,
    service_name: str,
    selector: dict[str, str],
    pod_labels: dict[str, str],
    annotations: dict[str, str],
    conf_hash: str,
    depends_on: list[Any],
    pre_roll: Callable[[str, dict[str, Any]], list[Any]] | None = None,
) -> dict[int, k8s.apps.v1.StatefulSet]:
    """The StatefulSet of each (generation, placement), by generation. Later
    generations carry their number in the selector; generation 0's selector
    (immutable) also matches their pods, but the StatefulSet controller never
    adopts pods another set owns. ``pre_roll(name, spec)`` returns what must
    finish before that StatefulSet takes ``spec`` (components/redis/preroll.py)."""
    out = {}
    for gen, gen_placement in generations:
        name = statefulset_name(args.name, gen)
        gen_label = {"redis-platform/generation": str(gen)} if gen else {}
        claims = data_claims(parent, args, name, replicas, pod_labels | gen_label) if args.persistence_enabled else []
        spec = statefulset_spec(args, pod, replicas, service_name, selector | gen_label, pod_labels | gen_label,
                                gen_placement, args.name, conf_hash)
        before = pre_roll(name, spec) if pre_roll is not None else []
        out[gen] = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=metadata(name, args.namespace, pod_labels, annotations),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, *claims, *before],
                                        ignore_changes=list(DATA_STATEFULSET_IGNORED)
                                        + (["spec.replicas"] if args.replicas_autoscaled else [])),
        )
    return out
