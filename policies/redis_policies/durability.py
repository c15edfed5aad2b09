"""Prod Redis keeps its data: a volume per pod and at least one replica per master.

A stack policy, because one object does not tell the whole story: in cluster
mode the replica count per shard is in the bootstrap Job, not the StatefulSet.

Which stack is prod, first answer wins:
1. the policy's config value ``environment`` (policies/config/<stack>.json,
   passed with ``--policy-pack-config``; explicit, works on any engine);
2. the stack's own ``redis-platform:environment``: the engine hands analyzers
   the stack config in PULUMI_CONFIG, which pulumi_policy loads into the
   Pulumi runtime config before each validation;
3. neither: prod. A forgotten config fails closed, never open.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi.runtime.config import get_config
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .k8s import JOB_TYPE, STATEFUL_SET_TYPE, annotations, as_int, describe, get, items, labels, mapping

STRICT_ENVIRONMENTS = ("prod",)
DEFAULT_ENVIRONMENT = "prod"
STACK_CONFIG_KEY = "redis-platform:environment"
# Set by the Redis components on the data StatefulSet's metadata (not the pod
# template, so changing it does not roll pods). Read first; the fallbacks
# below cover StatefulSets made before the annotations existed.
MODE_ANNOTATION = "redis-platform/mode"
REPLICAS_ANNOTATION = "redis-platform/replicas-per-master"
REDIS_CONTAINER = "redis"


def is_redis_data_set(props: Mapping) -> bool:
    """A StatefulSet whose pods hold Redis data (not sentinels, not HAProxy)."""
    if labels(props).get("app.kubernetes.io/name") != "redis":
        return False
    spec = mapping(get(props, "spec", "template", "spec"))
    return any(get(c, "name") == REDIS_CONTAINER for c in items(spec.get("containers")))


def _env_value(job: Mapping, name: str) -> str | None:
    for container in items(get(job, "spec", "template", "spec", "containers")):
        for env in items(get(container, "env")):
            if get(env, "name") == name:
                return get(env, "value")
    return None


def replicas_per_master(sts: Mapping, jobs: list[Mapping]) -> int | None:
    """How many replicas each master has, or None when nothing says."""
    declared = as_int(annotations(sts).get(REPLICAS_ANNOTATION))
    if declared is not None:
        return declared
    mode = annotations(sts).get(MODE_ANNOTATION)
    own = labels(sts)
    if mode == "cluster" or own.get("app.kubernetes.io/component") == "cluster-node":
        # The bootstrap Job of the same deployment carries the wanted topology.
        for job in jobs:
            theirs = labels(job)
            if (
                theirs.get("app.kubernetes.io/instance") == own.get("app.kubernetes.io/instance")
                and get(job, "metadata", "namespace") == get(sts, "metadata", "namespace")
            ):
                found = as_int(_env_value(job, "REPLICAS_PER_SHARD"))
                if found is not None:
                    return found
        return None
    # One master, the rest replicas (Sentinel mode).
    count = as_int(get(sts, "spec", "replicas"))
    return None if count is None else count - 1


def persistence_problem(sts: Mapping) -> str | None:
    claims = {get(t, "metadata", "name") for t in items(get(sts, "spec", "volumeClaimTemplates"))}
    if not claims:
        return "has no volumeClaimTemplates: its data is lost whenever a pod is rescheduled"
    for container in items(get(sts, "spec", "template", "spec", "containers")):
        if get(container, "name") == REDIS_CONTAINER:
            mounted = {get(m, "name") for m in items(get(container, "volumeMounts"))}
            if not mounted & claims:
                return f"container '{REDIS_CONTAINER}' mounts none of its claims {sorted(claims)}"
    return None


def environment_of(args: StackValidationArgs) -> str:
    return str(args.get_config().get("environment") or get_config(STACK_CONFIG_KEY) or DEFAULT_ENVIRONMENT)


def validate_prod_durability(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    environment = environment_of(args)
    if environment not in STRICT_ENVIRONMENTS:
        return
    jobs = [r.props for r in args.resources if r.resource_type == JOB_TYPE]
    for resource in args.resources:
        if resource.resource_type != STATEFUL_SET_TYPE or not is_redis_data_set(resource.props):
            continue
        what = describe(resource.props, resource.name)
        problem = persistence_problem(resource.props)
        if problem:
            report_violation(f"{what} ({environment}): {problem}", resource.urn)
        replicas = replicas_per_master(resource.props, jobs)
        if replicas is None:
            report_violation(
                f"{what} ({environment}): cannot tell how many replicas each master has "
                f"(annotate it {REPLICAS_ANNOTATION})",
                resource.urn,
            )
        elif replicas < 1:
            report_violation(
                f"{what} ({environment}): {replicas} replicas per master; losing one pod loses data and availability",
                resource.urn,
            )


prod_redis_durability = StackValidationPolicy(
    name="prod-redis-durability",
    description="In prod, every Redis StatefulSet has persistent volumes and at least one replica per master.",
    validate=validate_prod_durability,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "environment": {
                "type": "string",
                "description": f"Environment of the stack under check; {', '.join(STRICT_ENVIRONMENTS)} is held to this rule.",
            }
        }
    ),
)
