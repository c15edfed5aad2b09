"""A Sentinel master set behind HAProxy on loopback, built from the renderers.

Host mapping: the renderers take stable DNS names; here each "pod" is a
127.0.0.x address and the tests pass that address where Kubernetes would
have the pod's DNS name (Redis, Sentinel and HAProxy all accept an address
where a name is allowed). HAProxy's resolvers point at an unused loopback
port, so no DNS query can leave the machine.

Each test gets its own block of addresses (``Topology(block)``) inside
127.0.0.50-127.0.0.89, so tests can run in parallel under xdist.

With ``tls`` (a TestPki laid out like cert-manager's Secret) the nodes,
Sentinels and HAProxy get the rendered TLS text and the env the components
set, and the harness's clients speak TLS verified against the test CA.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components.common.redis_acl import (
    ADMIN, HAPROXY, SENTINEL_DATA_ROLES, SENTINEL_ROLES, AclSpec, render_sentinel_users, render_users,
)
from components.common.tls import CA_ENV, CERT_ENV, KEY_ENV, TLS_ENV, TlsFiles
from components.haproxy.cfg import HAProxySpec, render_haproxy_cfg
from components.redis.conf import DEFAULT_MAXMEMORY_FRACTION, RedisConfSpec, render_redis_conf, repl_backlog_bytes
from components.redis.sentinel_conf import SentinelConfSpec, SentinelFailover, render_sentinel_conf
from components.redis.sentinel_scripts import READY_CHECK, REDIS_START, SENTINEL_READY, SENTINEL_START, script_path
from tests.integration.procs import ProcGroup, Proc, port_open, require, wait_for
from tests.integration.tls_certs import TestPki

# The pods run busybox sh; the tests run dash unless POD_SHELL says otherwise
# (e.g. POD_SHELL="busybox sh").
POD_SHELL = shlex.split(os.environ.get("POD_SHELL", "dash"))
MASTER_SET = "main"
# Short timings so a failover takes seconds, not a minute.
FAILOVER = SentinelFailover(master_set=MASTER_SET, quorum=2, down_after_ms=1000, failover_timeout_ms=5000)
NODES = 3
WRITE_PORT, READ_PORT, STATS_PORT = 6379, 6380, 8404


@dataclass(frozen=True)
class Topology:
    """Seven addresses (three data nodes, three Sentinels, HAProxy) from
    <subnet>.(first + 8 * block): blocks 0..4 of 127.0.0.50 by default; a
    module with a range of its own names its subnet and first address."""

    block: int = 0
    subnet: str = "127.0.0"
    first: int = 50

    def ip(self, n: int) -> str:
        return f"{self.subnet}.{self.first + 8 * self.block + n}"

    @property
    def redis(self) -> tuple[str, ...]:
        return tuple(self.ip(i) for i in range(NODES))

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(self.ip(3 + i) for i in range(NODES))

    @property
    def haproxy(self) -> str:
        return self.ip(6)


def haproxy_spec(topo: Topology, tls_ca_file: str | None = None) -> HAProxySpec:
    return HAProxySpec(
        tls_ca_file=tls_ca_file,
        master_set=MASTER_SET,
        redis_hosts=topo.redis,
        sentinel_hosts=topo.sentinels,
        bind=topo.haproxy,
        write_port=WRITE_PORT,
        read_port=READ_PORT,
        stats_port=STATS_PORT,
        nameservers=("127.0.0.89:5353",),
        user=HAPROXY,
    )


class MasterSet:
    """Three Redis nodes, three Sentinels and HAProxy, started by the pod scripts."""

    def __init__(self, procs: ProcGroup, root: Path, topo: Topology, tls: TestPki | None = None):
        for binary in ("redis-server", "redis-sentinel", "redis-cli", "haproxy", POD_SHELL[0]):
            require(binary)
        self.procs, self.root, self.topo = procs, root, topo
        # One password per ACL user, as the program makes one Secret each;
        # the tests' own clients and scripts log in as admin.
        self.passwords = {u: secrets.token_urlsafe(18) for u in sorted(set(SENTINEL_DATA_ROLES) | set(SENTINEL_ROLES))}
        self.password = self.passwords[ADMIN]
        self.auth_env = {"REDIS_USER": ADMIN, "REDISCLI_AUTH": self.password}
        # The ConfigMap's users files and the projected Secret files.
        root.mkdir(parents=True, exist_ok=True)
        self.users_acl = root / "users.acl"
        self.users_acl.write_text(render_users(AclSpec(roles=SENTINEL_DATA_ROLES)))
        self.sentinel_users_acl = root / "sentinel-users.acl"
        self.sentinel_users_acl.write_text(render_sentinel_users())
        self.acl_dir = root / "acl"
        self.acl_dir.mkdir(exist_ok=True)
        for user, password in self.passwords.items():
            (self.acl_dir / user).write_text(password)
        self.nodes: dict[str, Proc] = {}
        self.sentinel_procs: dict[str, Proc] = {}
        # Env overrides for the pods started from now on (e.g. a new binary).
        self.node_overrides: dict[str, str] = {}
        self.sentinel_overrides: dict[str, str] = {}
        self.haproxy: Proc | None = None
        self.tls = tls
        self.haproxy_cfg = render_haproxy_cfg(haproxy_spec(topo, str(tls.ca) if tls else None))

    def tls_env(self, with_key: bool = False) -> dict[str, str]:
        """What the components put in a container's env with TLS on."""
        if self.tls is None:
            return {}
        env = {TLS_ENV: "yes", CA_ENV: str(self.tls.ca)}
        if with_key:
            env |= {CERT_ENV: str(self.tls.cert), KEY_ENV: str(self.tls.key), "TLS_RELOAD_INTERVAL_SECONDS": "1",
                    "TLS_RESTART_STAGGER_SECONDS": "3"}
        return env

    @property
    def tls_files(self) -> TlsFiles | None:
        return TlsFiles(str(self.tls.cert), str(self.tls.key), str(self.tls.ca)) if self.tls else None

    def node_env(self, ip: str) -> dict[str, str]:
        d = self.root / ip
        return {
            **self.auth_env,
            "USERS_ACL": str(self.users_acl),
            "ACL_DIR": str(self.acl_dir),
            "MASTER_SET": MASTER_SET,
            "REDIS_ANNOUNCE_HOST": ip,
            "REDIS_HOSTS": " ".join(self.topo.redis),
            "SENTINEL_HOSTS": " ".join(self.topo.sentinels),
            "REPL_STATE_FILE": str(d / "data" / "replication-state"),
            "RECORD_INTERVAL": "0.5",
            "START_WAIT_SECONDS": "60",
            "REDIS_CONF": str(d / "redis.conf"),
            "RUNTIME_CONF": str(d / "run" / "runtime.conf"),
            "LOCAL_REDIS_HOST": ip,
            "SENTINEL_QUERY_TRIES": "2",
            "SENTINEL_QUERY_INTERVAL": "0.5",
            "SENTINEL_QUERY_TIMEOUT": "1",
        } | self.tls_env(with_key=True)

    def sentinel_conf(self, ip: str) -> str:
        return render_sentinel_conf(
            SentinelConfSpec(
                master_host=self.topo.redis[0],
                failover=FAILOVER,
                bind=ip,
                work_dir=str(self.root / f"sentinel-{ip}" / "work"),
                tls=self.tls_files,
            )
        )

    def sentinel_env(self, ip: str) -> dict[str, str]:
        d = self.root / f"sentinel-{ip}"
        return {
            **self.auth_env,
            "SENTINEL_USERS_ACL": str(self.sentinel_users_acl),
            "ACL_DIR": str(self.acl_dir),
            "SENTINEL_ANNOUNCE_HOST": ip,
            "SENTINEL_CONF_SRC": str(d / "etc" / "sentinel.conf"),
            "SENTINEL_WORK_DIR": str(d / "work"),
            "SENTINEL_HOSTS": " ".join(self.topo.sentinels),
            "REDIS_HOSTS": " ".join(self.topo.redis),
            "SENTINEL_QUERY_INTERVAL": "0.5",
            "SENTINEL_QUERY_TIMEOUT": "1",
            # The pod's name: its ordinal staggers certificate restarts.
            "POD_NAME": f"sentinel-{self.topo.sentinels.index(ip)}",
        } | self.tls_env(with_key=True)

    def start_sentinel(self, ip: str) -> Proc:
        """One Sentinel pod; it listens only once it knows the master."""
        d = self.root / f"sentinel-{ip}"
        (d / "etc").mkdir(parents=True, exist_ok=True)
        (d / "etc" / "sentinel.conf").write_text(self.sentinel_conf(ip))
        proc = self.procs.start([*POD_SHELL, str(script_path(SENTINEL_START))], d / "log",
                                env=self.sentinel_env(ip) | self.sentinel_overrides)
        self.sentinel_procs[ip] = proc
        return proc

    def start_sentinels(self) -> None:
        for ip in self.topo.sentinels:
            self.start_sentinel(ip)

    def wait_sentinels(self, timeout: float = 40) -> None:
        for ip in self.topo.sentinels:
            wait_for(lambda ip=ip: port_open(ip, 26379), timeout, what=f"sentinel {ip}")

    def start_node(self, ip: str) -> Proc:
        d = self.root / ip
        (d / "data").mkdir(parents=True, exist_ok=True)
        conf = render_redis_conf(
            RedisConfSpec(
                maxmemory_bytes=64 << 20,
                repl_backlog_bytes=repl_backlog_bytes(int((64 << 20) / DEFAULT_MAXMEMORY_FRACTION)),
                bind=ip,
                data_dir=str(d / "data"),
                include=str(d / "run" / "runtime.conf"),
                tls=self.tls_files,
                acl_users=True,
            )
        )
        (d / "redis.conf").write_text(conf)
        proc = self.procs.start([*POD_SHELL, str(script_path(REDIS_START))], d / "log",
                                env=self.node_env(ip) | self.node_overrides)
        self.nodes[ip] = proc
        wait_for(lambda: self.client(ip).ping(), 15, what=f"redis {ip}")
        return proc

    def restart_node_raw(self, ip: str) -> Proc:
        """Start redis-server on the node's redis.conf, bypassing the script, with
        its runtime include minus any replicaof line: a node that comes back
        calling itself master (as a start script that trusts itself would)."""
        d = self.root / ip
        runtime = d / "run" / "runtime.conf"
        runtime.write_text("".join(ln for ln in runtime.read_text().splitlines(keepends=True) if not ln.startswith("replicaof ")))
        proc = self.procs.start(["redis-server", str(d / "redis.conf")], d / "log")
        self.nodes[ip] = proc
        wait_for(lambda: self.client(ip).ping(), 15, what=f"redis {ip}")
        return proc

    def start_haproxy(self) -> Proc:
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(self.haproxy_cfg)
        self.haproxy = self.procs.start(
            ["haproxy", "-db", "-f", str(cfg)], self.root / "haproxy.log", env={"REDIS_PASSWORD": self.passwords[HAPROXY]}
        )
        wait_for(lambda: port_open(self.topo.haproxy, WRITE_PORT), 10, what="haproxy")
        return self.haproxy

    def start_all(self) -> None:
        self.start_sentinels()
        for ip in self.topo.redis:
            self.start_node(ip)
        # A first start is a cold start: every node empty, the tie goes to
        # the first data host, and the Sentinels then learn it from it.
        self.wait_sentinels()
        wait_for(self._replicas_online, 30, what="two replicas in sync")
        # Healthy means the Sentinels could fail over now: each lists both
        # replicas. A Sentinel learns them from the master's INFO, every 10 s.
        wait_for(self._sentinels_know_replicas, 40, interval=0.5, what="every Sentinel listing both replicas")
        self.start_haproxy()
        wait_for(lambda: self.via(WRITE_PORT) == self.topo.redis[0], 15, what="haproxy write port reaches node 0")

    def node_ready(self, ip: str) -> bool:
        """The data pod's readiness probe: the rendered command, on this pod's address."""
        return self._probe(READY_CHECK.replace("-h 127.0.0.1", f"-h {ip}"))

    def sentinel_ready(self, ip: str) -> bool:
        """The Sentinel pod's readiness probe, on this pod's address."""
        return self._probe(SENTINEL_READY.replace("-h 127.0.0.1", f"-h {ip}"))

    def _probe(self, check: str) -> bool:
        env = {**os.environ, **self.auth_env, "MASTER_SET": MASTER_SET, **self.tls_env()}
        return subprocess.run(["dash", "-c", check], env=env, capture_output=True, timeout=15).returncode == 0

    def _sentinels_know_replicas(self) -> bool:
        for ip in self.topo.sentinels:
            c = self.client(ip, 26379, decode_responses=True)
            try:
                replicas = c.execute_command("SENTINEL", "REPLICAS", MASTER_SET)
            finally:
                c.close()
            flags = [dict(zip(r[::2], r[1::2]))["flags"] if isinstance(r, list) else r["flags"] for r in replicas]
            if len(flags) != NODES - 1 or any("down" in f or "disconnected" in f for f in flags):
                return False
        return True

    def _replicas_online(self) -> bool:
        return self._replicas_online_of(self.topo.redis[0])

    def _replicas_online_of(self, master: str) -> bool:
        info = self.client(master).info("replication")
        return all(info.get(f"slave{i}", {}).get("state") == "online" for i in range(NODES - 1))

    def client(self, ip: str, port: int = 6379, **kw) -> redis.Redis:
        # No client-side retries: the tests measure what HAProxy does.
        return redis.Redis(
            host=ip,
            port=port,
            username=ADMIN,
            password=self.password,
            socket_timeout=2,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
            **({"ssl": True, "ssl_ca_certs": str(self.tls.ca), "ssl_check_hostname": True} if self.tls else {}),
            **kw,
        )

    def via(self, port: int) -> str | None:
        """Address of the node a fresh connection through HAProxy's ``port`` reaches, or None."""
        c = self.client(self.topo.haproxy, port)
        try:
            return c.config_get("bind")["bind"]
        except redis.RedisError:
            return None
        finally:
            c.close()

    def role(self, ip: str) -> str | None:
        try:
            return self.client(ip).info("replication")["role"]
        except redis.RedisError:
            return None

    def sentinel_master(self, sentinel_ip: str) -> str | None:
        c = self.client(sentinel_ip, 26379)
        try:
            addr = c.execute_command("SENTINEL", "get-master-addr-by-name", MASTER_SET)
            return addr[0].decode() if addr else None
        except redis.RedisError:
            return None
        finally:
            c.close()


class Writer(threading.Thread):
    """Writes w:<i> through HAProxy's write port, one key per write; records
    each acknowledged i, and counts refused writes."""

    def __init__(self, ms: MasterSet, max_s: float = 240):
        super().__init__(daemon=True)
        self.ms, self.max_s = ms, max_s
        self.acked: list[int] = []
        self.refused = 0
        self.done = threading.Event()

    def run(self) -> None:
        i, c = 0, None
        deadline = time.monotonic() + self.max_s
        while not self.done.is_set() and time.monotonic() < deadline:
            i += 1
            try:
                c = c or self.ms.client(self.ms.topo.haproxy, WRITE_PORT)
                c.set(f"w:{i}", i)
                self.acked.append(i)
            except redis.RedisError:
                self.refused += 1
                c = None
                time.sleep(0.05)
            time.sleep(0.005)

    def stop(self) -> None:
        self.done.set()
        self.join(15)

    def lost_on(self, ms: MasterSet, host: str) -> list[int]:
        c = ms.client(host, decode_responses=True)
        values = []
        for start in range(0, len(self.acked), 1000):
            chunk = self.acked[start:start + 1000]
            values += c.mget([f"w:{i}" for i in chunk])
        return [i for i, v in zip(self.acked, values) if v != str(i)]


def run_script(script: str, env: dict[str, str], args: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*POD_SHELL, str(script_path(script)), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
