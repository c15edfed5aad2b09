"""The Kubernetes objects each deployment creates, predicted from config.

Two deployments in one namespace must not generate the same object (a
Sentinel deployment ``a`` makes a StatefulSet ``a-sentinel``; a deployment
named ``a-sentinel`` would make one too). The program would only find out
while registering resources, after other files were written; this finds it
from the config. ``tests/unit/test_generated_names.py`` renders deployments
of every shape and checks that every object they create is predicted here,
so the prediction cannot drift from the components.
"""

from __future__ import annotations

from collections.abc import Iterator

from stacks.config.redis import RedisDeployment

# A trailing "*" marks a name completed by a hash (Jobs are immutable, so
# each topology or step gets a new one).
_COMMON = (
    ("Secret", "{n}-auth"), ("ConfigMap", "{n}-config"), ("ServiceAccount", "{n}"),
    ("ConfigMap", "{n}-ops"), ("ServiceAccount", "{n}-ops"),
    ("CronJob", "{n}-backup"), ("CronJob", "{n}-restore"), ("CronJob", "{n}-failover-drill"),
    ("Job", "{n}-migrate-*"),
    ("NetworkPolicy", "{n}-ops"), ("NetworkPolicy", "{n}-ops-object-storage"), ("NetworkPolicy", "{n}-ops-metrics-push"), ("NetworkPolicy", "{n}-clients"),
    # The internal ACL users' Secrets (components/common/redis_acl.py).
    ("Secret", "{n}-acl-admin"), ("Secret", "{n}-acl-replication"), ("Secret", "{n}-acl-exporter"),
    ("Secret", "{n}-acl-backup"),
)
# Per namespace, not per deployment: their names hold a dot, which no
# deployment's object name can (components/common/network_policy.py).
NAMESPACE_OBJECTS = (("NetworkPolicy", "redis-platform.default-deny"), ("NetworkPolicy", "redis-platform.allow-dns"))
_BY_MODE = {
    "cluster": (
        ("Service", "{n}"), ("Service", "{n}-headless"), ("NetworkPolicy", "{n}"), ("NetworkPolicy", "{n}-bootstrap"),
        ("NetworkPolicy", "{n}-preroll"), ("PodDisruptionBudget", "{n}"),
    ),
    "sentinel": (
        ("Service", "{n}"), ("Service", "{n}-read"), ("Service", "{n}-headless"),
        ("Service", "{n}-sentinel"), ("Service", "{n}-sentinel-headless"), ("StatefulSet", "{n}-sentinel"),
        ("Deployment", "{n}-haproxy"), ("ConfigMap", "{n}-haproxy-config"),
        ("NetworkPolicy", "{n}-data"), ("NetworkPolicy", "{n}-haproxy"), ("NetworkPolicy", "{n}-sentinel"),
        ("NetworkPolicy", "{n}-haproxy-clients"), ("NetworkPolicy", "{n}-preroll"),
        ("PodDisruptionBudget", "{n}-data"), ("PodDisruptionBudget", "{n}-haproxy"),
        ("PodDisruptionBudget", "{n}-sentinel"),
        ("Secret", "{n}-acl-sentinel"), ("Secret", "{n}-acl-haproxy"),
    ),
}


def _statefulset(name: str, generation: int) -> str:
    return name if generation == 0 else f"{name}-g{generation}"


def _pods(dep: RedisDeployment) -> int:
    if dep.mode == "cluster":
        return dep.cluster.shards * (1 + dep.cluster.replicas_per_shard)
    return dep.sentinel.replicas + 1


def deployment_objects(dep: RedisDeployment) -> Iterator[tuple[str, str]]:
    """(kind, name) of every namespaced object ``dep`` creates."""
    for kind, pattern in _COMMON + _BY_MODE[dep.mode]:
        yield kind, pattern.format(n=dep.name)
    if dep.mode == "cluster" and dep.cluster.zone_discovery.enabled:
        for kind in ("ServiceAccount", "Role", "RoleBinding", "ConfigMap"):
            yield kind, f"{dep.name}-bootstrap"
        # The zone map the bootstrap Job writes for the data pods.
        yield "ConfigMap", f"{dep.name}-zones"
    if dep.tls.enabled:
        # The Certificate, and the Secret cert-manager writes for it.
        yield "Certificate", f"{dep.name}-tls"
        yield "Secret", f"{dep.name}-tls"
    generations = [dep.generation] + ([dep.generation + 1] if dep.migration is not None else [])
    for gen in generations:
        sts = _statefulset(dep.name, gen)
        yield "StatefulSet", sts
        if dep.persistence.enabled:
            for ordinal in range(_pods(dep)):
                yield "PersistentVolumeClaim", f"data-{sts}-{ordinal}"
        # The pre-roll Job (components/redis/preroll.py), both modes.
        yield "Job", f"{sts}-preroll-*"
        if dep.mode == "cluster":
            yield "Job", f"{sts}-bootstrap-*"
        if gen:
            yield "Service", f"{sts}-headless"


def matches(a: str, b: str) -> bool:
    """Whether two predicted names can be the same object name."""
    if a.endswith("*") and b.endswith("*"):
        return a.startswith(b[:-1]) or b.startswith(a[:-1])
    if a.endswith("*"):
        return b.startswith(a[:-1])
    if b.endswith("*"):
        return a.startswith(b[:-1])
    return a == b
