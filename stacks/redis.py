"""Composition: each deployment entry -> its Redis component, the HAProxy
front end of a Sentinel set, and its operations (stacks/operations.py)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pulumi

from components.common.args import args_from
from components.common.k8s import labels as k8s_labels
from components.common.network_policy import DEFAULT_CLIENT_LABEL
from components.common.redis_acl import HAPROXY, AclSpec, AppAcl
from components.common.redis_acl import secret_name as acl_secret_name
from components.common.redis_contract import deployment_labels
from components.autoscaling.replicas import ReplicaAutoscalerArgs, replica_autoscaler
from components.common.scheduling import PlacementArgs
from components.common.tls import IssuerRef, TlsArgs, tls_secret_name
from components.haproxy.frontend import HAProxyFrontend, HAProxyFrontendArgs, service_names
from components.operations.migration import MigrationStep
from components.redis.bootstrap import ZoneDiscovery
from components.redis.cluster import RedisCluster, RedisClusterArgs
from components.redis.cluster import generation_hosts as cluster_generation_hosts
from components.redis.common import RedisCommonArgs
from components.redis.generations import pod_hostnames, statefulset_name
from components.redis.sentinel import RedisSentinel, RedisSentinelArgs
from components.redis.sentinel import generation_hosts as sentinel_generation_hosts
from stacks.operations import BackupContext, backup_pod_additions, build_ops
from stacks.config import StackConfig
from stacks.config.redis import RedisDeployment
from stacks.config.redis import ZoneDiscovery as ZoneDiscoveryConfig

# Version of the per-deployment stack output's shape; bump on breaking change.
# 2: the password is the deployment's app user's, valid only with
# `username` (the default user is off); docs/outputs.md.
OUTPUT_SCHEMA_VERSION = 2


def output_key(dep: RedisDeployment) -> str:
    return f"redis-{dep.name}"


def client_pod_selector(dep: RedisDeployment) -> dict[str, str]:
    """docs/security.md "Clients": without any selector in config, clients
    opt in with a label naming the deployment; a namespace selector alone
    admits every pod of those namespaces."""
    if dep.clients.pod_selector or dep.clients.namespace_selector:
        return dict(dep.clients.pod_selector)
    return {DEFAULT_CLIENT_LABEL: dep.name}


def tls_args(dep: RedisDeployment) -> TlsArgs | None:
    """One Certificate per deployment; a Sentinel set's also names its HAProxy
    Services (clients' TLS passes through HAProxy to Redis)."""
    if not dep.tls.enabled or dep.tls.issuer is None:
        return None
    return TlsArgs(secret_name=tls_secret_name(dep.name), issuer=args_from(dep.tls.issuer, IssuerRef),
                   extra_service_names=service_names(dep.name) if dep.mode == "sentinel" else ())


def common_args(cfg: StackConfig, dep: RedisDeployment, storage_class: str) -> dict[str, Any]:
    size = dep.effective_resources
    persistence = dep.persistence
    return dict(
        name=dep.name,
        namespace=cfg.namespace_of(dep),
        team=dep.team,
        image=dep.image,
        exporter_image=dep.exporter_image,
        cpu=size.cpu,
        memory=size.memory,
        cpu_limit=size.cpu_limit or size.cpu,
        memory_bytes=size.memory_bytes,
        maxmemory_policy=dep.maxmemory_policy,
        maxmemory_fraction=dep.maxmemory_fraction,
        min_replicas_to_write=dep.min_replicas_to_write,
        min_replicas_max_lag=dep.min_replicas_max_lag_seconds,
        persistence_enabled=persistence.enabled,
        volume_size=persistence.size,
        storage_class_name=persistence.storage_class_name or storage_class,
        save_rules=persistence.save_rules,
        appendfsync=persistence.appendfsync,
        monitoring_namespace=cfg.monitoring.namespace,
        client_pod_selector=client_pod_selector(dep),
        client_namespace_selector=dict(dep.clients.namespace_selector),
        cluster_domain=cfg.cluster_domain,
        tls=tls_args(dep),
        acl=AclSpec(app=AppAcl(commands=dep.acl.app.commands, keys=dep.acl.app.keys, channels=dep.acl.app.channels)),
    )


def placement_args(dep: RedisDeployment) -> PlacementArgs:
    p = dep.placement
    return PlacementArgs(
        anti_affinity=p.anti_affinity,
        zone_weight=p.zone_weight,
        host_weight=p.host_weight,
        node_selector=dict(p.node_selector),
        tolerations=tuple(dict(t) for t in p.tolerations),
        host_network=dep.host_network,
    )


def migration_placement(dep: RedisDeployment) -> PlacementArgs | None:
    if dep.migration is None:
        return None
    return replace(placement_args(dep), node_selector=dict(dep.migration.node_selector),
                   tolerations=tuple(dict(t) for t in dep.migration.tolerations))


def build_frontend(cfg: StackConfig, dep: RedisDeployment, base: dict[str, Any], sentinel: RedisSentinel,
                   sentinel_args: RedisSentinelArgs) -> dict[str, Any]:
    """The HAProxy front end of a Sentinel set, pointed at the hosts the
    RedisSentinel names. Its parent is that component, as when the component
    created it itself, so its URNs (and the running proxies) are unchanged."""
    hp = dep.haproxy
    # Image, replicas and Service settings under their config names.
    args = args_from(
        hp, HAProxyFrontendArgs,
        name=dep.name,
        namespace=base["namespace"],
        team=dep.team,
        monitoring_namespace=base["monitoring_namespace"],
        client_pod_selector=base["client_pod_selector"],
        client_namespace_selector=base["client_namespace_selector"],
        cluster_domain=cfg.cluster_domain,
        placement=replace(placement_args(dep), host_network=False),
        master_set=dep.sentinel.master_set,
        redis_hosts=haproxy_redis_hosts(dep, sentinel, sentinel_args),
        sentinel_hosts=sentinel.sentinel_hosts,
        # The checks log in as the deployment's haproxy ACL user.
        secret_name=acl_secret_name(dep.name, HAPROXY),
        check_user=HAPROXY,
        tls_secret_name=base["tls"].secret_name if base["tls"] else None,
    )
    front = HAProxyFrontend(f"{dep.name}-haproxy", args, opts=pulumi.ResourceOptions(parent=sentinel))
    return {"writeEndpoint": front.write_endpoint, "readEndpoint": front.read_endpoint}


def haproxy_redis_hosts(dep: RedisDeployment, sentinel: RedisSentinel, sentinel_args: RedisSentinelArgs) -> tuple[str, ...]:
    """Every pod HAProxy may send to. With an autoscaler, every ordinal up to
    its maximum: a pod not running has no DNS record and its server stays
    down; one the autoscaler adds resolves, passes its checks and gets reads,
    with no new haproxy.cfg."""
    hosts = list(sentinel.served_hosts)
    auto = dep.sentinel.autoscaling
    if auto is not None:
        hosts += [h for h in pod_hostnames(sentinel_args, dep.generation, auto.max_replicas + 1) if h not in hosts]
    return tuple(hosts)


def build_autoscaler(cfg: StackConfig, dep: RedisDeployment, parent: pulumi.Resource) -> None:
    auto = dep.sentinel.autoscaling
    if auto is None:
        return
    replica_autoscaler(f"{dep.name}-autoscaler", ReplicaAutoscalerArgs(
        namespace=cfg.namespace_of(dep), statefulset=statefulset_name(dep.name, dep.generation),
        min_pods=dep.sentinel.replicas + 1, max_pods=auto.max_replicas + 1, cpu_target_percent=auto.cpu_target_percent,
        labels=k8s_labels("redis", dep.name, "autoscaler", deployment_labels(dep.name, dep.team)),
    ), opts=pulumi.ResourceOptions(parent=parent))


def build_deployment(
    cfg: StackConfig, dep: RedisDeployment, storage_class: str, opts=None, backup: BackupContext | None = None
) -> dict[str, Any]:
    """Create one deployment's component and its ops pieces; return its stack output."""
    base = common_args(cfg, dep, storage_class) | dict(
        pod_additions=backup_pod_additions(backup, dep),
        service_account_annotations=backup.annotations(dep.name, "data") if backup is not None and dep.backup.enabled else {},
    )
    cluster_args = None
    if dep.mode == "cluster":
        # Shards, replicas and cluster timing under their config names.
        cluster_args = args_from(
            dep.cluster, RedisClusterArgs,
            **base,
            placement=placement_args(dep),
            generation=dep.generation,
            migrate_to=migration_placement(dep),
            zone_discovery=zone_discovery(dep.cluster.zone_discovery),
        )
        component = RedisCluster(dep.name, cluster_args, opts=opts)
        outputs = component.outputs
    else:
        st = dep.sentinel
        # Sizes and the failover settings (the section's `failover`) under their config names.
        sentinel_args = args_from(
            st, RedisSentinelArgs,
            **base,
            placement=placement_args(dep),
            generation=dep.generation,
            migrate_to=migration_placement(dep),
            migration_step=dep.migration.step if dep.migration is not None else None,
            replicas_autoscaled=st.autoscaling is not None,
        )
        component = RedisSentinel(dep.name, sentinel_args, opts=opts)
        build_autoscaler(cfg, dep, component)
        outputs = component.outputs | build_frontend(cfg, dep, base, component, sentinel_args)
    # Ops pods are peers of the deployment (its NetworkPolicy lets them in)
    # and clients of it (the drill writes through HAProxy as an app would).
    ops_labels = k8s_labels("redis", dep.name, "ops", deployment_labels(dep.name, dep.team))
    if not base["client_namespace_selector"]:
        ops_labels |= base["client_pod_selector"]
    depends = list(opts.depends_on or []) if opts is not None and isinstance(opts.depends_on, list) else []
    migration = None
    if dep.migration is not None:
        hosts = partial(cluster_generation_hosts, cluster_args) if cluster_args else partial(sentinel_generation_hosts, sentinel_args)
        migration = MigrationStep(dep.migration.step, hosts(dep.generation), hosts(dep.generation + 1))
    ops = build_ops(cfg, dep, backup, ops_labels, cluster_args, migration,
                    opts=pulumi.ResourceOptions(parent=component, depends_on=depends))
    # "tls" and "caSecret" come from the component's outputs.
    return {"schemaVersion": OUTPUT_SCHEMA_VERSION, "team": dep.team, **outputs, "ops": ops}


__all__ = ["RedisCommonArgs", "build_deployment", "output_key"]


def zone_discovery(zd: ZoneDiscoveryConfig) -> ZoneDiscovery | None:
    return ZoneDiscovery(image=zd.image, topology_key=zd.topology_key) if zd.enabled else None
