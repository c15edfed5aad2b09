"""Composition: each deployment entry -> its Redis component."""

from __future__ import annotations

from typing import Any

from dataclasses import replace

from components.haproxy.frontend import HAProxyFrontendArgs
from components.redis.cluster import RedisCluster, RedisClusterArgs
from components.redis.sentinel import RedisSentinel, RedisSentinelArgs
from components.redis.common import RedisCommonArgs
from components.redis.pod import PlacementArgs
from stacks.config import StackConfig
from stacks.config.redis import RedisDeployment

# Version of the per-deployment stack output's shape; bump on breaking change.
OUTPUT_SCHEMA_VERSION = 1


def output_key(dep: RedisDeployment) -> str:
    return f"redis-{dep.name}"


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
        persistence_enabled=persistence.enabled,
        volume_size=persistence.size,
        storage_class_name=persistence.storage_class_name or storage_class,
        save_rules=persistence.save_rules,
        appendfsync=persistence.appendfsync,
        monitoring_namespace=cfg.monitoring.namespace,
        # Without a selector in config, clients opt in with a label naming the deployment.
        client_pod_selector=dict(dep.clients.pod_selector) or {"redis-platform/client-of": dep.name},
        client_namespace_selector=dict(dep.clients.namespace_selector),
        cluster_domain=cfg.cluster_domain,
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


def build_deployment(cfg: StackConfig, dep: RedisDeployment, storage_class: str, opts=None) -> dict[str, Any]:
    """Create one deployment's component; return its stack output."""
    base = common_args(cfg, dep, storage_class)
    if dep.mode == "cluster":
        component = RedisCluster(
            dep.name,
            RedisClusterArgs(
                **base,
                shards=dep.cluster.shards,
                replicas_per_shard=dep.cluster.replicas_per_shard,
                node_timeout_ms=dep.cluster.node_timeout_ms,
                placement=placement_args(dep),
            ),
            opts=opts,
        )
    else:
        st, hp = dep.sentinel, dep.haproxy
        component = RedisSentinel(
            dep.name,
            RedisSentinelArgs(
                **base,
                replicas=st.replicas,
                sentinels=st.sentinels,
                quorum=st.effective_quorum,
                down_after_ms=st.down_after_ms,
                failover_timeout_ms=st.failover_timeout_ms,
                parallel_syncs=st.parallel_syncs,
                master_set=st.master_set,
                placement=placement_args(dep),
                haproxy=HAProxyFrontendArgs(
                    name=dep.name,
                    namespace=base["namespace"],
                    team=dep.team,
                    image=hp.image,
                    monitoring_namespace=base["monitoring_namespace"],
                    client_pod_selector=base["client_pod_selector"],
                    client_namespace_selector=base["client_namespace_selector"],
                    replicas=hp.replicas,
                    service_type=hp.service_type,
                    load_balancer_source_ranges=hp.load_balancer_source_ranges,
                    write_node_port=hp.write_node_port,
                    read_node_port=hp.read_node_port,
                    cluster_domain=cfg.cluster_domain,
                    placement=replace(placement_args(dep), host_network=False),
                ),
            ),
            opts=opts,
        )
    return {"schemaVersion": OUTPUT_SCHEMA_VERSION, "team": dep.team, "tls": False, **component.outputs}


__all__ = ["RedisCommonArgs", "build_deployment", "output_key"]
