"""redis.conf renderer shared by the cluster and sentinel modes.

Pure: no Pulumi import. The text it returns is what the pod mounts from its
ConfigMap and what the integration tests feed to a real redis-server.

Secrets and per-pod values (password, announced hostname) are never rendered
here: the file ends with an ``include`` of a runtime file that the pod's start
script writes from environment variables into an in-memory emptyDir.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.common.redis_acl import DEFAULT_USER_OFF
from components.common.redis_contract import DATA_DIR, REDIS_PORT
from components.common.tls import TlsFiles, redis_tls_directives

# Share of the container memory limit handed to redis as maxmemory. The rest
# covers what maxmemory does not count: copy-on-write pages while a fork
# writes the RDB or rewrites the AOF, replication and client output buffers,
# the AOF rewrite buffer and allocator fragmentation. 0.7 keeps a node that
# is full and forking under its cgroup limit, so the kernel does not OOM-kill
# it in the middle of a save.
DEFAULT_MAXMEMORY_FRACTION = 0.7

# Paths inside the data pod (the shared ones, DATA_DIR and SCRIPTS_DIR, are
# in components/common/redis_contract.py). Tests map them to a temporary directory.
CONF_DIR = "/usr/local/etc/redis"
RUNTIME_DIR = "/run/redis"
RUNTIME_CONF = f"{RUNTIME_DIR}/runtime.conf"


# Replication backlog: 5% of the container memory limit, at least Redis's
# 1 MB default, in whole megabytes. The backlog is what lets a replica that
# restarted (a rolling update, a node drain) resume with a partial sync: it
# must hold every write the master took while the replica was away. With
# the 1 MB default any restart of a busy node is a full sync: an RDB of the
# whole dataset, copy-on-write on the master, and a replica that cannot
# take over until it is loaded. Redis does not count the backlog in
# maxmemory, so it comes out of the 30% headroom (DEFAULT_MAXMEMORY_FRACTION):
# 5% leaves the rest for fork copy-on-write and buffers. 1 Gi -> 51 MB,
# 4 Gi -> 204 MB, 12 Gi -> 614 MB: at 10 MB/s of writes, 5 s, 20 s, 60 s away.
REPL_BACKLOG_FRACTION = 0.05
_MB = 1024 * 1024


def repl_backlog_bytes(memory_limit_bytes: int) -> int:
    """repl-backlog-size for a container whose memory limit is ``memory_limit_bytes``."""
    if memory_limit_bytes <= 0:
        raise ValueError("memory limit must be positive")
    return max(_MB, int(memory_limit_bytes * REPL_BACKLOG_FRACTION) // _MB * _MB)


def maxmemory_bytes(memory_limit_bytes: int, fraction: float = DEFAULT_MAXMEMORY_FRACTION) -> int:
    """maxmemory for a container whose memory limit is ``memory_limit_bytes``."""
    if memory_limit_bytes <= 0:
        raise ValueError("memory limit must be positive")
    if not 0 < fraction < 1:
        raise ValueError("maxmemory fraction must be between 0 and 1")
    return int(memory_limit_bytes * fraction)


@dataclass(frozen=True)
class RedisConfSpec:
    """Everything redis.conf depends on; built by the components from stack config."""

    maxmemory_bytes: int
    maxmemory_policy: str = "noeviction"
    cluster_enabled: bool = False
    cluster_node_timeout_ms: int = 5000
    appendonly: bool = True
    appendfsync: str = "everysec"
    # (seconds, changes) pairs; empty disables RDB snapshots.
    save_rules: tuple[tuple[int, int], ...] = ((900, 1), (300, 10), (60, 10000))
    port: int = REDIS_PORT
    bind: str = "0.0.0.0"
    data_dir: str = DATA_DIR
    include: str | None = RUNTIME_CONF
    # Replicas each master expects: a diskless full sync starts as soon as
    # this many are waiting, instead of after repl-diskless-sync-delay (5 s),
    # a window in which a freshly started replica cannot take over.
    replicas_per_master: int = 0
    # repl-backlog-size (repl_backlog_bytes); None keeps Redis's 1 MB default.
    repl_backlog_bytes: int | None = None
    # Cluster: whether every shard stops taking writes while one shard has
    # no master (docs/operations.md has the measurement behind the default).
    cluster_require_full_coverage: bool = False
    # A master refuses writes unless this many replicas acknowledged the
    # stream within min_replicas_max_lag seconds; 0 = off.
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    # ACL users (components/common/redis_acl.py): the default user is off
    # here; the named users come from the runtime include.
    acl_users: bool = False
    # Extra directives appended verbatim (name -> value), for settings the
    # typed fields do not cover. Values are strings exactly as redis expects.
    extra: dict[str, str] = field(default_factory=dict)
    # TLS on: the client port speaks TLS only (plain port off), and
    # replication and the cluster bus use TLS as well.
    tls: TlsFiles | None = None


def _directives(spec: RedisConfSpec) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [
        ("bind", spec.bind),
        *_ports(spec),
        # With requirepass set (runtime include) protected mode does not block
        # authenticated clients; it stays on as a second guard should the
        # include ever be missing.
        ("protected-mode", "yes"),
        ("dir", spec.data_dir),
        ("tcp-keepalive", "60"),
        ("timeout", "0"),
        ("loglevel", "notice"),
        ("logfile", '""'),
        ("maxmemory", str(spec.maxmemory_bytes)),
        ("maxmemory-policy", spec.maxmemory_policy),
        ("appendonly", "yes" if spec.appendonly else "no"),
        ("appendfsync", spec.appendfsync),
        ("appendfilename", '"appendonly.aof"'),
        ("aof-use-rdb-preamble", "yes"),
        # Keep fsyncing while a rewrite runs: "yes" avoids latency spikes on
        # a slow disk but can lose up to 30 s of writes if the node crashes
        # during the rewrite. Durability wins here.
        ("no-appendfsync-on-rewrite", "no"),
        ("auto-aof-rewrite-percentage", "100"),
        ("auto-aof-rewrite-min-size", "64mb"),
        ("dbfilename", "dump.rdb"),
    ]
    if spec.save_rules:
        out.append(("save", " ".join(f"{s} {c}" for s, c in spec.save_rules)))
    else:
        out.append(("save", '""'))
    # A replica keeps serving (possibly stale) reads while it resyncs; a
    # cache-style platform prefers that to errors.
    out.append(("replica-serve-stale-data", "yes"))
    out.append(("replica-read-only", "yes"))
    # Diskless sync avoids writing a full RDB to the volume on every
    # full resync.
    out.append(("repl-diskless-sync", "yes"))
    out.append(("repl-diskless-sync-max-replicas", str(spec.replicas_per_master)))
    # Bounded loss under a partition: a master cut off from its replicas
    # stops acknowledging writes after min-replicas-max-lag seconds.
    out.append(("min-replicas-to-write", str(spec.min_replicas_to_write)))
    out.append(("min-replicas-max-lag", str(spec.min_replicas_max_lag)))
    if spec.repl_backlog_bytes is not None:
        out.append(("repl-backlog-size", str(spec.repl_backlog_bytes)))
    if spec.cluster_enabled:
        out += [
            ("cluster-enabled", "yes"),
            ("cluster-config-file", f"{spec.data_dir}/nodes.conf"),
            ("cluster-node-timeout", str(spec.cluster_node_timeout_ms)),
            # Clients are redirected to hostnames, which survive pod rescheduling.
            ("cluster-preferred-endpoint-type", "hostname"),
            # "no": while one shard has no master (a failover), the other
            # shards keep taking writes; "yes" stops them all (CLUSTERDOWN).
            ("cluster-require-full-coverage", "yes" if spec.cluster_require_full_coverage else "no"),
            ("cluster-allow-reads-when-down", "no"),
            ("cluster-replica-validity-factor", "10"),
            ("cluster-migration-barrier", "1"),
        ]
    if spec.tls is not None:
        out += redis_tls_directives(spec.tls, spec.cluster_enabled)
    out += sorted(spec.extra.items())
    if spec.acl_users:
        # Not secret, so here where a reviewer reads it: nobody can log in
        # as `default`, with or without a password.
        out.append(("user", DEFAULT_USER_OFF.removeprefix("user ")))
    return out


def _ports(spec: RedisConfSpec) -> list[tuple[str, str]]:
    """The same port number either way, so Services, policies and clients'
    addresses do not change; with TLS nothing listens in plain text."""
    if spec.tls is None:
        return [("port", str(spec.port))]
    return [("port", "0"), ("tls-port", str(spec.port))]


def render_redis_conf(spec: RedisConfSpec) -> str:
    """redis.conf text for ``spec``."""
    lines = ["# Generated by redis-platform; edit the stack config, not this file."]
    lines += [f"{name} {value}" for name, value in _directives(spec)]
    if spec.include:
        # Last, so per-pod values (auth, announced hostname) win.
        lines.append(f"include {spec.include}")
    return "\n".join(lines) + "\n"
