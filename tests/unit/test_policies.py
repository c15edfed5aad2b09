"""The policy pack: each rule rejects a violating object and accepts a compliant
one, and both real stacks pass every rule.

Policies get their inputs the way the engine passes them (read-only proxies,
numbers as floats) through pulumi_policy's own args classes; the PolicyPack
itself is never built (its constructor starts a gRPC server).
"""

from __future__ import annotations

import contextvars
import copy
from typing import Any

import pulumi
import pytest
from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from policies.redis_policies import HOST_NETWORK_ANNOTATION, POLICIES, RESOURCE_POLICIES, STACK_POLICIES
from policies.redis_policies.durability import prod_redis_durability
from policies.redis_policies.exposure import load_balancer_ranges, no_secrets_in_config_maps
from policies.redis_policies.workloads import container_limits, image_problem, no_host_network, pinned_images
from policies.redis_policies.durability import is_redis_data_set
from tests.unit.conftest import BASE_CONFIG, run_stack_file, run_with

TYPES = {
    "Deployment": "kubernetes:apps/v1:Deployment",
    "StatefulSet": "kubernetes:apps/v1:StatefulSet",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
    "Job": "kubernetes:batch/v1:Job",
    "CronJob": "kubernetes:batch/v1:CronJob",
    "Service": "kubernetes:core/v1:Service",
    "ConfigMap": "kubernetes:core/v1:ConfigMap",
}


def engine_props(value: Any) -> Any:
    """As the analyzer receives them: protobuf Struct numbers are doubles, then proxied."""

    def floats(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: floats(x) for k, x in v.items()}
        if isinstance(v, list):
            return [floats(x) for x in v]
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v

    return unknown_checking_proxy(floats(value))


def check(policy, typ: str, manifest: dict, config: dict | None = None) -> list[str]:
    violations: list[str] = []
    name = manifest.get("metadata", {}).get("name", "x")
    args = ResourceValidationArgs(typ, engine_props(manifest), f"urn:pulumi:t::p::{typ}::{name}", name, None, None, config)
    policy.validate(args, lambda message, urn=None: violations.append(message))
    return violations


def check_stack(policy, recorded: list[tuple[str, dict]], config: dict | None = None) -> list[tuple[str, str | None]]:
    violations: list[tuple[str, str | None]] = []
    resources = [
        PolicyResource(typ, engine_props(m), f"urn:pulumi:t::p::{typ}::{i}", str(i), None, None, None, [], {})
        for i, (typ, m) in enumerate(recorded)
    ]
    policy.validate(StackValidationArgs(resources, config), lambda message, urn=None: violations.append((message, urn)))
    return violations


def container(name="app", image="redis:7.2-alpine", limits=True) -> dict:
    c = {"name": name, "image": image, "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
    if limits:
        c["resources"]["limits"] = {"cpu": "1", "memory": "1Gi"}
    return c


def pod_spec(**extra) -> dict:
    return {"containers": [container()], "initContainers": [container("init")], **extra}


def workload(kind: str, spec: dict, pod_annotations: dict | None = None) -> dict:
    template = {"metadata": {"labels": {"a": "b"}, "annotations": pod_annotations or {}}, "spec": spec}
    body = {"jobTemplate": {"spec": {"template": template}}} if kind == "CronJob" else {"template": template}
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w", "namespace": "ns"}, "spec": body}


WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
@pytest.mark.parametrize("field", ["containers", "initContainers"])
@pytest.mark.parametrize("missing", ["cpu", "memory"])
def test_limits_missing_on_any_container_is_rejected(kind, field, missing):
    spec = pod_spec()
    assert check(container_limits, TYPES[kind], workload(kind, spec)) == []
    del spec[field][0]["resources"]["limits"][missing]
    violations = check(container_limits, TYPES[kind], workload(kind, spec))
    assert len(violations) == 1
    assert f"{field} '{spec[field][0]['name']}' has no {missing} limit" in violations[0]
    assert "ns/w" in violations[0]


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
def test_host_network_needs_the_allow_annotation(kind):
    spec = pod_spec(hostNetwork=True)
    assert "hostNetwork is on" in check(no_host_network, TYPES[kind], workload(kind, spec))[0]
    wrong_value = {HOST_NETWORK_ANNOTATION: "yes"}
    assert check(no_host_network, TYPES[kind], workload(kind, spec, wrong_value))
    allowed = {HOST_NETWORK_ANNOTATION: "true"}
    assert check(no_host_network, TYPES[kind], workload(kind, spec, allowed)) == []
    assert check(no_host_network, TYPES[kind], workload(kind, pod_spec(hostNetwork=False))) == []


@pytest.mark.parametrize(
    "image, pinned",
    [
        ("redis:7.2-alpine", True),
        ("registry.example.com:5000/team/redis:7.2.5", True),
        ("redis@sha256:" + "a" * 64, True),
        ("redis", False),
        ("redis:latest", False),
        ("registry.example.com:5000/redis", False),
        ("redis@sha256:abc", False),
        ("", False),
    ],
)
def test_image_pinning(image, pinned):
    assert (image_problem(image) is None) is pinned
    spec = pod_spec()
    spec["initContainers"][0]["image"] = image
    violations = check(pinned_images, TYPES["Job"], workload("Job", spec))
    assert (violations == []) is pinned
    if not pinned:
        assert "initContainers 'init'" in violations[0]


def service(typ: str, ranges: list[str] | None = None) -> dict:
    spec: dict = {"type": typ, "ports": [{"port": 6379}]}
    if ranges is not None:
        spec["loadBalancerSourceRanges"] = ranges
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "front", "namespace": "redis"}, "spec": spec}


def test_load_balancer_needs_restricted_source_ranges():
    svc = TYPES["Service"]
    assert "reachable from anywhere" in check(load_balancer_ranges, svc, service("LoadBalancer"))[0]
    assert check(load_balancer_ranges, svc, service("LoadBalancer", []))
    assert "whole internet" in check(load_balancer_ranges, svc, service("LoadBalancer", ["0.0.0.0/0"]))[0]
    assert check(load_balancer_ranges, svc, service("LoadBalancer", ["10.0.0.0/8"])) == []
    assert check(load_balancer_ranges, svc, service("ClusterIP")) == []
    assert check(load_balancer_ranges, svc, service("NodePort")) == []


def config_map(data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "redis"}, "data": data}


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"redis-password": "x"}, "named like a credential"),
        ({"API_TOKEN": "x"}, "named like a credential"),
        ({"tls.key": "x"}, "named like a credential"),
        ({"redis.conf": "port 6379\nrequirepass hunter2\n"}, "sets requirepass to a literal"),
        ({"sentinel.conf": "sentinel auth-pass mymaster 's3cret'\n"}, "sets sentinel to a literal"),
        ({"alertmanager.yml": "api_url: https://hooks.slack.com/services/T0/B0/xyz\n"}, "Slack webhook"),
    ],
)
def test_credentials_in_config_maps_are_rejected(data, problem):
    violations = check(no_secrets_in_config_maps, TYPES["ConfigMap"], config_map(data))
    assert len(violations) == 1 and problem in violations[0], violations


def test_config_map_scripts_that_read_the_password_from_env_pass():
    script = 'printf \'requirepass %s\\n\' "$pw"\n    echo "masterauth \\"$quoted\\""\nrequirepass "$REDIS_PASSWORD"\n'
    data = {"redis.conf": "port 6379\ninclude /run/redis/runtime.conf\n", "start.sh": script}
    assert check(no_secrets_in_config_maps, TYPES["ConfigMap"], config_map(data)) == []


def redis_set(replicas: int, component: str = "server", claims: bool = True, annotations: dict | None = None) -> dict:
    spec = {
        "replicas": replicas,
        "template": {"spec": {"containers": [{**container("redis"), "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
    }
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {}}]
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "orders", "app.kubernetes.io/component": component}
    meta = {"name": "orders", "namespace": "redis", "labels": labels, "annotations": annotations or {}}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}


def bootstrap_job(replicas_per_shard: int) -> dict:
    env = [{"name": "SHARDS", "value": "3"}, {"name": "REPLICAS_PER_SHARD", "value": str(replicas_per_shard)}]
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "orders", "app.kubernetes.io/component": "bootstrap"}
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "b", "namespace": "redis", "labels": labels},
        "spec": {"template": {"spec": {"containers": [{"name": "bootstrap", "env": env}]}}},
    }


STS, JOB = TYPES["StatefulSet"], TYPES["Job"]
PROD = {"environment": "prod"}


def test_prod_sentinel_set_needs_a_replica_and_volumes():
    assert check_stack(prod_redis_durability, [(STS, redis_set(3))], PROD) == []
    lone = check_stack(prod_redis_durability, [(STS, redis_set(1))], PROD)
    assert len(lone) == 1 and "0 replicas per master" in lone[0][0]
    assert lone[0][1] == "urn:pulumi:t::p::kubernetes:apps/v1:StatefulSet::0", "the violation names the resource"
    no_disk = check_stack(prod_redis_durability, [(STS, redis_set(3, claims=False))], PROD)
    assert len(no_disk) == 1 and "no volumeClaimTemplates" in no_disk[0][0]


def test_prod_cluster_replicas_come_from_annotation_or_bootstrap_job():
    node = redis_set(6, component="cluster-node")
    assert check_stack(prod_redis_durability, [(STS, node), (JOB, bootstrap_job(1))], PROD) == []
    masters_only = check_stack(prod_redis_durability, [(STS, redis_set(3, "cluster-node")), (JOB, bootstrap_job(0))], PROD)
    assert "0 replicas per master" in masters_only[0][0]
    unknown = check_stack(prod_redis_durability, [(STS, node)], PROD)
    assert "cannot tell" in unknown[0][0]
    annotated = redis_set(6, "cluster-node", annotations={"redis-platform/mode": "cluster", "redis-platform/replicas-per-master": "2"})
    assert check_stack(prod_redis_durability, [(STS, annotated)], PROD) == []
    annotated_zero = redis_set(6, "cluster-node", annotations={"redis-platform/replicas-per-master": "0"})
    assert check_stack(prod_redis_durability, [(STS, annotated_zero), (JOB, bootstrap_job(1))], PROD)


def test_durability_applies_to_prod_only_and_fails_closed():
    weak = [(STS, redis_set(1, claims=False))]
    assert check_stack(prod_redis_durability, weak, {"environment": "dev"}) == []
    assert len(check_stack(prod_redis_durability, weak, None)) == 2, "no config at all is treated as prod"

    def with_stack_config(env: str):
        pulumi.runtime.set_config("redis-platform:environment", env)
        return check_stack(prod_redis_durability, weak, None)

    # The stack's own config, as the engine hands it to the analyzer.
    assert contextvars.copy_context().run(with_stack_config, "dev") == []
    assert len(contextvars.copy_context().run(with_stack_config, "prod")) == 2


def test_durability_ignores_sets_that_hold_no_redis_data():
    sentinels = redis_set(1, claims=False)
    sentinels["spec"]["template"]["spec"]["containers"][0]["name"] = "sentinel"
    other = copy.deepcopy(redis_set(1, claims=False))
    other["metadata"]["labels"]["app.kubernetes.io/name"] = "prometheus"
    assert check_stack(prod_redis_durability, [(STS, sentinels), (STS, other)], PROD) == []


def test_policies_have_unique_names():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == len(RESOURCE_POLICIES) + len(STACK_POLICIES)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stacks_pass_every_policy(stack):
    run = run_stack_file(stack)
    assert run.kubernetes(), "the stack renders Kubernetes objects"
    recorded = [(r.typ, r.inputs) for r in run.resources]
    violations: list[str] = []
    for policy in RESOURCE_POLICIES:
        for typ, inputs in recorded:
            violations += [f"{policy.name}: {v}" for v in check(policy, typ, inputs)]
    for policy in STACK_POLICIES:
        violations += [f"{policy.name}: {m}" for m, _ in check_stack(policy, recorded, {"environment": stack})]
        # prod's rule also holds when dev is (wrongly) checked as prod: dev is durable too.
        violations += [f"{policy.name} as prod: {m}" for m, _ in check_stack(policy, recorded, PROD)]
    assert violations == []
    # Not vacuous: the durability rule saw one data StatefulSet per built deployment.
    data_sets = [m for t, m in recorded if t == STS and is_redis_data_set(engine_props(m))]
    built = [k for k, v in run.outputs.items() if k.startswith("redis-") and "secretName" in v]
    assert len(data_sets) == len(built) > 0
    print(f"{stack}: {len(recorded)} resources checked by {len(POLICIES)} policies, {len(data_sets)} Redis data sets")


def test_redis_on_host_network_carries_the_allow_annotation():
    deployment = {"name": "edge", "team": "t", "mode": "cluster", "size": "small", "hostNetwork": True}
    run = run_with({**BASE_CONFIG, "deployments": [deployment]})
    workloads = [(r.typ, r.inputs) for r in run.resources if r.typ == STS]
    assert any(m["spec"]["template"]["spec"].get("hostNetwork") for _, m in workloads), "the config reached the pod"
    assert [v for t, m in workloads for v in check(no_host_network, t, m)] == []
