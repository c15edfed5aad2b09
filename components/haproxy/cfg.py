"""haproxy.cfg renderer for the front end of a Sentinel-managed master set.

Pure: no Pulumi import. The text goes into a ConfigMap as is; the password
appears only as ``${REDIS_PASSWORD}``, which HAProxy expands from its own
environment when it parses the file.

Write port: a node gets new connections only if (a) its own health check
finds ``role:master`` AND (b) a majority of the Sentinels name it as master.
(b) is a backend ``sentinels_name_<i>`` per node whose servers are the
Sentinels, each checked with ``SENTINEL get-master-addr-by-name``; the ACL
``nbsrv(sentinels_name_<i>) ge <agreement>`` reads how many agree. A restarted
old master that still says role:master fails (b) and gets no writes.

Read port: healthy replicas (role:slave with the link to the master up),
falling back to the master when there is none.

With TLS (``tls_ca_file``) the Redis ports are passed through: HAProxy runs
in TCP mode and forwards the clients' TLS to the Redis nodes unopened, so
encryption is end to end, HAProxy holds no private key and there is one
certificate to renew, the nodes'. Its own checks open TLS to the nodes and
Sentinels and verify them against the CA.

Every check pipelines QUIT after its command, so the node closes the
connection and a non-matching reply fails at once instead of at the check
timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.common.redis_contract import HOST_RE, PASSWORD_ENV, REDIS_PORT, SENTINEL_PORT, check_master_set

RESOLVERS = "kubernetes"
NO_MASTER = "no_master"
REPLICAS = "redis_replicas"

_ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class HAProxySpec:
    """What haproxy.cfg depends on; built by the component from stack config."""

    master_set: str
    # Stable DNS names of the Redis pods, in ordinal order, and of the Sentinels.
    redis_hosts: tuple[str, ...]
    sentinel_hosts: tuple[str, ...]
    redis_port: int = REDIS_PORT
    sentinel_port: int = SENTINEL_PORT
    bind: str = "0.0.0.0"
    write_port: int = 6379
    read_port: int = 6380
    # Stats page (/stats) and Prometheus metrics (/metrics).
    stats_port: int = 8404
    check_interval_ms: int = 1000
    check_timeout_ms: int = 2000
    # How many Sentinels must name a node; None means a majority, so no two
    # nodes can ever qualify at once.
    sentinel_agreement: int | None = None
    password_env: str = PASSWORD_ENV
    # ACL user the checks log in as (AUTH <user> <password>); None: the
    # default user (AUTH <password>).
    user: str | None = None
    # Empty: take the nameservers from /etc/resolv.conf (the cluster DNS).
    # Tests pass a loopback address so no query can leave the machine.
    nameservers: tuple[str, ...] = ()
    client_timeout_s: int = 3600
    maxconn: int = 4096
    # HAProxy sizes its threads from the CPUs it may run on (affinity), not
    # from the container's CPU limit; match the limit so it is not throttled.
    nbthread: int = 1
    # TLS on the Redis and Sentinel ports: the CA the checks verify against.
    tls_ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.redis_hosts:
            raise ValueError("redis_hosts must name at least one node")
        if not self.sentinel_hosts:
            raise ValueError("sentinel_hosts must name at least one sentinel")
        for host in (*self.redis_hosts, *self.sentinel_hosts):
            if not HOST_RE.match(host):
                raise ValueError(f"{host!r} is not a host name or address")
        if len(set(self.redis_hosts)) != len(self.redis_hosts):
            raise ValueError("redis_hosts has duplicates")
        if len({self.write_port, self.read_port, self.stats_port}) != 3:
            raise ValueError("write_port, read_port and stats_port must differ")
        if not _ENV_RE.match(self.password_env):
            raise ValueError(f"password_env {self.password_env!r} is not an environment variable name")
        if self.user is not None and not re.match(r"^[A-Za-z0-9._-]+$", self.user):
            raise ValueError(f"user {self.user!r}: letters, digits, '.', '_' and '-' only")
        check_master_set(self.master_set)
        n = len(self.sentinel_hosts)
        if self.sentinel_agreement is not None and not n // 2 < self.sentinel_agreement <= n:
            raise ValueError(f"sentinel_agreement must be a majority of the {n} sentinels")
        if self.check_interval_ms < 100 or self.check_timeout_ms < 100:
            raise ValueError("check interval and timeout must be at least 100 ms")

    @property
    def agreement(self) -> int:
        return self.sentinel_agreement or len(self.sentinel_hosts) // 2 + 1


def _server_opts(spec: HAProxySpec, fall: int) -> str:
    # init-addr lets HAProxy start while a pod has no DNS record yet; the
    # resolvers then follow the record as the pod's IP changes.
    # check-ssl: TLS for the checks only; client traffic passes through.
    tls = f" check-ssl verify required ca-file {spec.tls_ca_file}" if spec.tls_ca_file else ""
    return (
        f"check inter {spec.check_interval_ms} fall {fall} rise 1{tls}"
        f" resolvers {RESOLVERS} init-addr last,libc,none resolve-prefer ipv4"
    )


def _auth_check(spec: HAProxySpec) -> list[str]:
    return [
        "option tcp-check",
        "tcp-check connect ssl" if spec.tls_ca_file else "tcp-check connect",
        f'tcp-check send "AUTH {spec.user + " " if spec.user else ""}${{{spec.password_env}}}\\r\\n"',
        "tcp-check expect string +OK",
    ]


def _role_check(spec: HAProxySpec, expects: tuple[str, ...]) -> list[str]:
    lines = _auth_check(spec)
    lines.append('tcp-check send "PING\\r\\n"')
    lines.append("tcp-check expect string +PONG")
    lines.append('tcp-check send "INFO replication\\r\\nQUIT\\r\\n"')
    # Each expect searches the same reply, in order.
    lines += [f"tcp-check expect string {e}" for e in expects]
    return lines


def _global(spec: HAProxySpec) -> tuple[str, list[str]]:
    return "global", [
        "log stdout format raw local0 info",
        f"maxconn {spec.maxconn}",
        f"nbthread {spec.nbthread}",
        # Evaluated once at start; the frontends' warm-up gate counts from it.
        "set-var proc.started_at date()",
    ]


def warmup_seconds(spec: HAProxySpec) -> int:
    """How long after start the Redis frontends refuse clients.

    HAProxy 2.6 marks every server UP until its first check ends (init-state
    arrives only in 3.1), so right after a start a stale old master and a
    Sentinel backend that has not been asked yet would both count as healthy.
    One check interval plus one check timeout covers every server's first
    check.
    """
    return -(-(spec.check_interval_ms + spec.check_timeout_ms) // 1000) + 1


def _defaults(spec: HAProxySpec) -> tuple[str, list[str]]:
    return "defaults", [
        "mode tcp",
        "log global",
        "option tcplog",
        "option dontlognull",
        "timeout connect 3s",
        # Redis clients keep idle pooled connections; do not cut them early.
        f"timeout client {spec.client_timeout_s}s",
        f"timeout server {spec.client_timeout_s}s",
        f"timeout check {spec.check_timeout_ms}ms",
    ]


def _resolvers(spec: HAProxySpec) -> tuple[str, list[str]]:
    if spec.nameservers:
        lines = [f"nameserver ns{i} {ns}" for i, ns in enumerate(spec.nameservers)]
    else:
        lines = ["parse-resolv-conf"]
    return f"resolvers {RESOLVERS}", lines + [
        "resolve_retries 3",
        "timeout resolve 1s",
        "timeout retry 1s",
        # Keep the last good address through a short DNS outage.
        "hold valid 10s",
        "hold other 10s",
        "hold nx 10s",
        "hold timeout 10s",
        "hold obsolete 10s",
    ]


def _stats(spec: HAProxySpec) -> tuple[str, list[str]]:
    return "frontend stats", [
        "mode http",
        f"bind {spec.bind}:{spec.stats_port}",
        # Scrapes every few seconds would drown the Redis connection log.
        "http-request set-log-level silent",
        "timeout client 10s",
        "http-request use-service prometheus-exporter if { path /metrics }",
        "stats enable",
        "stats uri /stats",
        "stats refresh 5s",
    ]


def _master_rules(spec: HAProxySpec) -> list[str]:
    lines = [
        f"acl checks_warm date,sub(proc.started_at) ge {warmup_seconds(spec)}",
        f"use_backend {NO_MASTER} if !checks_warm",
    ]
    for i in range(len(spec.redis_hosts)):
        lines += [
            f"acl node{i}_says_master nbsrv(redis_master_{i}) ge 1",
            f"acl sentinels_name_node{i} nbsrv(sentinels_name_{i}) ge {spec.agreement}",
            f"use_backend redis_master_{i} if node{i}_says_master sentinels_name_node{i}",
        ]
    return lines


def _frontends(spec: HAProxySpec) -> list[tuple[str, list[str]]]:
    write = [f"bind {spec.bind}:{spec.write_port}", *_master_rules(spec), f"default_backend {NO_MASTER}"]
    read = [
        f"bind {spec.bind}:{spec.read_port}",
        *_master_rules(spec)[:2],
        f"acl replicas_up nbsrv({REPLICAS}) ge 1",
        f"use_backend {REPLICAS} if replicas_up",
        *_master_rules(spec)[2:],
        f"default_backend {NO_MASTER}",
    ]
    return [("frontend redis_write", write), ("frontend redis_read", read)]


def _backends(spec: HAProxySpec) -> list[tuple[str, list[str]]]:
    out = []
    # Sessions on a node that stops qualifying are cut, so clients reconnect
    # to the node that now does.
    redis_opts = _server_opts(spec, fall=2) + " on-marked-down shutdown-sessions"
    for i, host in enumerate(spec.redis_hosts):
        out.append(
            (
                f"backend redis_master_{i}",
                [*_role_check(spec, ("role:master",)), f"server redis-{i} {host}:{spec.redis_port} {redis_opts}"],
            )
        )
    replicas = [
        "balance leastconn",
        *_role_check(spec, ("role:slave", "master_link_status:up")),
    ]
    replicas += [f"server redis-{i} {h}:{spec.redis_port} {redis_opts}" for i, h in enumerate(spec.redis_hosts)]
    out.append((f"backend {REPLICAS}", replicas))
    for i, host in enumerate(spec.redis_hosts):
        # CRLF on both sides: "redis-1" must not match inside "redis-10".
        lines = [
            *_auth_check(spec),
            f'tcp-check send "SENTINEL get-master-addr-by-name {spec.master_set}\\r\\nQUIT\\r\\n"',
            f'tcp-check expect string "\\r\\n{host}\\r\\n"',
        ]
        lines += [
            f"server sentinel-{j} {s}:{spec.sentinel_port} {_server_opts(spec, fall=1)}"
            for j, s in enumerate(spec.sentinel_hosts)
        ]
        out.append((f"backend sentinels_name_{i}", lines))
    # No servers: a client is refused while no node qualifies as master.
    out.append((f"backend {NO_MASTER}", []))
    return out


def render_haproxy_cfg(spec: HAProxySpec) -> str:
    """haproxy.cfg text for ``spec``."""
    sections = [_global(spec), _defaults(spec), _resolvers(spec), _stats(spec), *_frontends(spec), *_backends(spec)]
    out = ["# Generated by redis-platform; edit the stack config, not this file."]
    for header, lines in sections:
        out.append("")
        out.append(header)
        out += [f"    {line}" for line in lines]
    return "\n".join(out) + "\n"
