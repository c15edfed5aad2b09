"""Rules that span sections, run once every section is valid on its own.

Each raises the same one-line ConfigError as a field error, naming the key
to change. Order matters only in that the first problem is the one shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.config.errors import config_error
from stacks.config.gp3 import gp3_problem
from stacks.config.names import deployment_objects, matches
from stacks.config.sizes import prometheus_bytes
from stacks.config.storage import EbsStorage, NfsStorage
from stacks.config.volumes import claims, class_for

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# Namespaces every cluster already has: creating one fails, and adopting one
# would put Redis under the platform's own policies.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _namespaces(cfg: "StackConfig") -> list[tuple[str, str, str]]:
    """(namespace, purpose, key path) of every Namespace the stack creates."""
    # The platform's own namespaces first, so a clash is reported on the Redis key.
    out = []
    if cfg.monitoring.enabled:
        out.append((cfg.monitoring.namespace, "monitoring", "monitoring.namespace"))
    if cfg.federation.enabled:
        out.append((cfg.federation.namespace, "federation", "federation.namespace"))
    if isinstance(cfg.storage, NfsStorage):
        out.append((cfg.storage.namespace, "NFS provisioner", "storage.namespace"))
    out.append((cfg.redis_namespace, "redis", "redisNamespace"))
    out += [(d.namespace, "redis", f"deployments[{i}].namespace") for i, d in enumerate(cfg.deployments) if d.namespace]
    return out


def check_namespaces(cfg: "StackConfig") -> None:
    first: dict[str, tuple[str, str]] = {}
    for ns, purpose, path in _namespaces(cfg):
        if ns in RESERVED_NAMESPACES:
            raise config_error(path, f"{ns!r} is a namespace every cluster already has; the stack creates its own namespaces")
        if ns in first and first[ns][0] != purpose:
            other_purpose, other_path = first[ns]
            raise config_error(path, f"{ns!r} is already the {other_purpose} namespace ({other_path}); each purpose needs its own")
        first.setdefault(ns, (purpose, path))


def check_generated_names(cfg: "StackConfig") -> None:
    made: list[tuple[str, str, str, int]] = []
    for i, dep in enumerate(cfg.deployments):
        ns = cfg.namespace_of(dep)
        for kind, name in deployment_objects(dep):
            for other_ns, other_kind, other_name, j in made:
                if j != i and other_ns == ns and other_kind == kind and matches(name, other_name):
                    raise config_error(
                        f"deployments[{i}].name",
                        f"{dep.name!r} would create {kind} {name.rstrip('*-')!r} in namespace {ns!r}, which "
                        f"deployments[{j}] ({cfg.deployments[j].name!r}) also creates; rename one or use another namespace",
                    )
        made += [(ns, kind, name, i) for kind, name in deployment_objects(dep)]


def check_team_routes(cfg: "StackConfig") -> None:
    first: dict[str, int] = {}
    for i, route in enumerate(cfg.monitoring.alertmanager.team_routes):
        if route.team in first:
            raise config_error(
                f"monitoring.alertmanager.teamRoutes[{i}].team",
                f"team {route.team!r} is already routed by teamRoutes[{first[route.team]}]; this route would never match",
            )
        first[route.team] = i


def _check_retention(retention_size: str, storage_size_bytes: int, path: str, volume_key: str) -> None:
    if prometheus_bytes(retention_size) >= storage_size_bytes:
        raise config_error(
            path,
            f"{retention_size} (Prometheus GB are GiB) does not fit the {volume_key} volume with room for the WAL; "
            "Prometheus would fill the disk before it deletes old blocks",
        )


def check_retention(cfg: "StackConfig") -> None:
    from stacks.config.quantities import memory_bytes

    p = cfg.monitoring.prometheus
    if cfg.monitoring.enabled:
        _check_retention(p.retention_size, memory_bytes(p.storage_size), "monitoring.prometheus.retentionSize",
                         f"{p.storage_size} monitoring.prometheus.storageSize")
    f = cfg.federation
    if f.enabled:
        _check_retention(f.retention_size, memory_bytes(f.storage_size), "federation.retentionSize",
                         f"{f.storage_size} federation.storageSize")


def check_load_balancers(cfg: "StackConfig") -> None:
    """Every LoadBalancer Service needs source ranges, not only some of them."""
    services = []
    if cfg.monitoring.enabled:
        services += [("monitoring.prometheus", cfg.monitoring.prometheus), ("monitoring.grafana", cfg.monitoring.grafana)]
    if cfg.federation.enabled and cfg.federation.grafana.enabled:
        services.append(("federation.grafana", cfg.federation.grafana))
    for path, section in services:
        if section.service_type == "LoadBalancer" and not section.load_balancer_source_ranges:
            raise config_error(
                f"{path}.loadBalancerSourceRanges",
                "serviceType LoadBalancer needs source ranges (without them the load balancer is open to the internet)",
            )


def check_claims(cfg: "StackConfig") -> None:
    storage = cfg.storage
    if not isinstance(storage, EbsStorage):
        return
    tuned = (storage.iops, storage.throughput)
    settings = {storage.storage_class_name: tuned, storage.baseline_storage_class_name: (3000, 125)}
    for claim in claims(cfg):
        name = claim.storage_class_name or class_for(cfg, claim.use)
        if name not in settings:
            continue  # a class this stack does not make: its parameters are unknown here
        problem = gp3_problem(claim.size_bytes, *settings[name])
        if problem:
            raise config_error(claim.path, f"{claim.size} on StorageClass {name!r}: {problem}")


def _under(prefix: str, other: str) -> bool:
    return prefix == other or prefix.startswith(other + "/")


def check_backup_prefixes(cfg: "StackConfig") -> None:
    """Redis and monitoring backups share the bucket; each pod's IAM policy
    covers its own prefix, so neither may lie under the other."""
    b = cfg.backup
    mb = cfg.monitoring.backup
    if not cfg.monitoring.enabled or not mb.enabled or not b.enabled:
        return
    if _under(mb.prefix, b.prefix) or _under(b.prefix, mb.prefix):
        raise config_error("monitoring.backup.prefix", f"{mb.prefix!r} overlaps the Redis backups' prefix "
                           f"{b.prefix!r} (backup.prefix); each needs its own, so each IAM policy covers only its backups")


RULES = (check_namespaces, check_backup_prefixes, check_generated_names, check_team_routes, check_retention, check_load_balancers, check_claims)


def check_cross_section(cfg: "StackConfig") -> None:
    for rule in RULES:
        rule(cfg)
