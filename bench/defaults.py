"""What the project generates for a deployment that sets only its size.

The values come from the stack config model's defaults (stacks.config.redis),
mapped to renderer specs the way components/redis/{sentinel,cluster}.py map
them; only what differs per pod (bind address, data/run paths) is set here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.common.redis_acl import SENTINEL_DATA_ROLES, AclSpec, render_users
from components.redis.conf import RedisConfSpec, maxmemory_bytes
from components.redis.sentinel_conf import SentinelConfSpec
from stacks.config.redis import RedisDeployment

# This helper's loopback block: 127.0.0.200 - 127.0.0.249.
BARE_IP = "127.0.0.200"
GENERATED_IP = "127.0.0.201"
SENTINEL_BLOCK = 19  # tests.integration.sentinel.harness.Topology(19): 127.0.0.202 - 208
CLUSTER_POOL = [f"127.0.0.{i}" for i in range(220, 240)]
MINIMAL_HAPROXY_IP, MINIMAL_1THREAD_HAPROXY_IP = "127.0.0.240", "127.0.0.244"
MEMORY_NODE_IP, MEMORY_REPLICA_IP = "127.0.0.241", "127.0.0.242"

SIZE = "small"


def deployment(mode: str, size: str = SIZE, **fields) -> RedisDeployment:
    return RedisDeployment(name="bench", team="bench", mode=mode, size=size, **fields)


def redis_conf_spec(mode: str, bind: str, data_dir: Path, include: Path, *, size: str = SIZE,
                    memory_limit_bytes: int | None = None, **fields) -> RedisConfSpec:
    """``memory_limit_bytes`` replaces the preset's limit (the memory section
    scales the presets down to fit this machine); ``fields`` are further
    deployment settings (e.g. ``maxmemory_fraction``)."""
    dep = deployment(mode, size, **fields)
    p = dep.persistence
    limit = memory_limit_bytes or dep.effective_resources.memory_bytes
    replicas = dep.cluster.replicas_per_shard if mode == "cluster" else dep.sentinel.replicas
    return RedisConfSpec(
        maxmemory_bytes=maxmemory_bytes(limit, dep.maxmemory_fraction),
        maxmemory_policy=dep.maxmemory_policy,
        cluster_enabled=mode == "cluster",
        cluster_node_timeout_ms=dep.cluster.node_timeout_ms,
        appendonly=p.enabled,
        appendfsync=p.appendfsync,
        save_rules=p.save_rules if p.enabled else (),
        bind=bind,
        data_dir=str(data_dir),
        include=str(include),
        # As components/redis/{sentinel,cluster}.py render it.
        replicas_per_master=replicas,
        acl_users=True,
    )


def maxmemory() -> int:
    dep = deployment("sentinel")
    return maxmemory_bytes(dep.effective_resources.memory_bytes, dep.maxmemory_fraction)


def sentinel_conf_spec(master_set: str, master_host: str, bind: str, work_dir: Path) -> SentinelConfSpec:
    st = deployment("sentinel").sentinel
    return SentinelConfSpec(
        master_host=master_host,
        failover=replace(st.failover, master_set=master_set),
        bind=bind,
        work_dir=str(work_dir),
    )


def cluster_node_timeout_s() -> float:
    return deployment("cluster").cluster.node_timeout_ms / 1000


def sentinel_down_after_s() -> float:
    return deployment("sentinel").sentinel.down_after_ms / 1000


def lone_node_env(ip: str, d, password: str) -> dict[str, str]:
    """The start script's environment for the only data node of a set: with
    no Sentinel answering (one refused query) it is a cold start it wins alone.
    Its ACL users are the rendered ones; every one gets the bench's throwaway
    ``password`` (their rights still differ: clients log in as app or admin)."""
    (d / "users.acl").write_text(render_users(AclSpec(roles=SENTINEL_DATA_ROLES)))
    (d / "acl").mkdir(parents=True, exist_ok=True)
    for user in SENTINEL_DATA_ROLES:
        (d / "acl" / user).write_text(password)
    return {
        "REDIS_USER": "admin",
        "REDISCLI_AUTH": password,
        "USERS_ACL": str(d / "users.acl"),
        "ACL_DIR": str(d / "acl"),
        "MASTER_SET": "bench",
        "REDIS_ANNOUNCE_HOST": ip,
        "REDIS_HOSTS": ip,
        "LOCAL_REDIS_HOST": ip,
        "REPL_STATE_FILE": str(d / "data" / "replication-state"),
        "SENTINEL_HOSTS": ip,
        "SENTINEL_QUERY_TRIES": "1",
        "SENTINEL_QUERY_TIMEOUT": "1",
        "REDIS_CONF": str(d / "redis.conf"),
        "RUNTIME_CONF": str(d / "run" / "runtime.conf"),
    }
