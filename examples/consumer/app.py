"""How the consuming app connects, with redis-py.

The app's pod takes the ConfigMap with ``envFrom`` and REDIS_PASSWORD from
the Secret (an env var, never a file in the image or a ConfigMap):

    envFrom:
      - configMapRef: {name: redis-sessions-client}
      - secretRef: {name: redis-sessions-auth}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.cluster import ClusterNode, RedisCluster


@dataclass
class RedisClients:
    """Where to write and where to read; the same client in cluster mode."""

    write: redis.Redis | RedisCluster
    read: redis.Redis | RedisCluster


def host_port(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"endpoint {endpoint!r} is not host:port")
    return host, int(port)


def startup_nodes(env: Mapping[str, str]) -> list[ClusterNode]:
    """Any reachable node is enough; the client learns the slot map from it."""
    return [ClusterNode(*host_port(e)) for e in env["REDIS_STARTUP_NODES"].split(",") if e]


def failover_retry() -> Retry:
    """Reconnect through a failover: HAProxy drops the old master's sessions
    and refuses new ones for a few seconds until the new master qualifies."""
    return Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=8)


def connect(env: Mapping[str, str] = os.environ) -> RedisClients:
    password = env["REDIS_PASSWORD"]
    tls = env.get("REDIS_TLS") == "true"
    # A deployment with ACL users names the user; None logs in as `default`.
    common = {"username": env.get("REDIS_USERNAME"), "password": password, "ssl": tls, "socket_timeout": 5, "socket_connect_timeout": 5, "health_check_interval": 30}
    if tls and env.get("REDIS_CA_FILE"):
        # The platform's CA (ca.crt of its caSecret, copied into the app's
        # namespace: that Secret also holds the servers' key).
        common["ssl_ca_certs"] = env["REDIS_CA_FILE"]
    if env["REDIS_MODE"] == "cluster":
        # Connects at once and follows MOVED/ASK redirects itself. The nodes
        # announce stable pod hostnames, so restarts with new IPs are fine.
        cluster = RedisCluster(startup_nodes=startup_nodes(env), **common)
        return RedisClients(cluster, cluster)
    if "REDIS_WRITE_ENDPOINT" in env:
        # HAProxy knows the current master; after a failover it simply routes
        # to the new one, so plain clients need no Sentinel support.
        write_host, write_port = host_port(env["REDIS_WRITE_ENDPOINT"])
        read_host, read_port = host_port(env.get("REDIS_READ_ENDPOINT") or env["REDIS_WRITE_ENDPOINT"])
        return RedisClients(
            redis.Redis(host=write_host, port=write_port, retry=failover_retry(), **common),
            redis.Redis(host=read_host, port=read_port, retry=failover_retry(), **common),
        )
    # A Sentinel-aware client: asks the Sentinels for the master and talks to
    # it directly, so there is no proxy hop. redis-py asks the Sentinels on
    # every new connection and treats a READONLY reply (a demoted old master)
    # as a lost connection, so the retry below reconnects to the new master.
    from redis.sentinel import Sentinel

    sentinel = Sentinel(
        [host_port(e) for e in env["REDIS_SENTINELS"].split(",") if e],
        # The Sentinels take the same user, password and TLS as the nodes.
        sentinel_kwargs={k: v for k, v in common.items() if k in ("username", "password", "ssl", "ssl_ca_certs")}
        | {"socket_timeout": 5},
        **common,
    )
    master_set = env["REDIS_MASTER_SET"]
    return RedisClients(
        sentinel.master_for(master_set, retry=failover_retry()),
        sentinel.slave_for(master_set, retry=failover_retry()),
    )


if __name__ == "__main__":
    clients = connect()
    clients.write.set("redis-consumer:hello", "world", ex=60)
    # Replicas lag a little: read your own write from the master.
    print("read back:", clients.write.get("redis-consumer:hello"))
