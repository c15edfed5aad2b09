"""A Sentinel master set behind HAProxy on loopback, built from the renderers.

Host mapping: the renderers take stable DNS names; here each "pod" is a
127.0.0.x address and the tests pass that address where Kubernetes would
have the pod's DNS name (Redis, Sentinel and HAProxy all accept an address
where a name is allowed). HAProxy's resolvers point at an unused loopback
port, so no DNS query can leave the machine.

Each test gets its own block of addresses (``Topology(block)``) inside
127.0.0.50-127.0.0.89, so tests can run in parallel under xdist.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components.haproxy.cfg import HAProxySpec, render_haproxy_cfg
from components.redis.conf import RedisConfSpec, render_redis_conf
from components.redis.sentinel_conf import SentinelConfSpec, render_sentinel_conf
from components.redis.sentinel_scripts import REDIS_START, SENTINEL_START, script_path
from tests.integration.procs import ProcGroup, Proc, port_open, require, wait_for

# The pods run busybox sh; the tests run dash unless POD_SHELL says otherwise
# (e.g. POD_SHELL="busybox sh").
POD_SHELL = shlex.split(os.environ.get("POD_SHELL", "dash"))
MASTER_SET = "main"
NODES = 3
WRITE_PORT, READ_PORT, STATS_PORT = 6379, 6380, 8404


@dataclass(frozen=True)
class Topology:
    block: int  # 0..4: seven addresses from 127.0.0.(50 + 8 * block)

    def _ip(self, n: int) -> str:
        return f"127.0.0.{50 + 8 * self.block + n}"

    @property
    def redis(self) -> tuple[str, ...]:
        return tuple(self._ip(i) for i in range(NODES))

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(self._ip(3 + i) for i in range(NODES))

    @property
    def haproxy(self) -> str:
        return self._ip(6)


def haproxy_spec(topo: Topology) -> HAProxySpec:
    return HAProxySpec(
        master_set=MASTER_SET,
        redis_hosts=topo.redis,
        sentinel_hosts=topo.sentinels,
        bind=topo.haproxy,
        write_port=WRITE_PORT,
        read_port=READ_PORT,
        stats_port=STATS_PORT,
        nameservers=("127.0.0.89:5353",),
    )


class MasterSet:
    """Three Redis nodes, three Sentinels and HAProxy, started by the pod scripts."""

    def __init__(self, procs: ProcGroup, root: Path, topo: Topology):
        for binary in ("redis-server", "redis-sentinel", "redis-cli", "haproxy", POD_SHELL[0]):
            require(binary)
        self.procs, self.root, self.topo = procs, root, topo
        self.password = secrets.token_urlsafe(18)
        self.nodes: dict[str, Proc] = {}
        self.haproxy: Proc | None = None
        self.haproxy_cfg = render_haproxy_cfg(haproxy_spec(topo))

    def node_env(self, ip: str) -> dict[str, str]:
        d = self.root / ip
        return {
            "REDIS_PASSWORD": self.password,
            "MASTER_SET": MASTER_SET,
            "REDIS_ANNOUNCE_HOST": ip,
            "INITIAL_MASTER_HOST": self.topo.redis[0],
            "SENTINEL_HOSTS": " ".join(self.topo.sentinels),
            "REDIS_CONF": str(d / "redis.conf"),
            "RUNTIME_CONF": str(d / "run" / "runtime.conf"),
            "LOCAL_REDIS_HOST": ip,
            "SENTINEL_QUERY_TRIES": "2",
            "SENTINEL_QUERY_INTERVAL": "0.5",
            "SENTINEL_QUERY_TIMEOUT": "1",
        }

    def sentinel_conf(self, ip: str) -> str:
        return render_sentinel_conf(
            SentinelConfSpec(
                master_set=MASTER_SET,
                master_host=self.topo.redis[0],
                quorum=2,
                bind=ip,
                down_after_ms=1000,
                failover_timeout_ms=5000,
                work_dir=str(self.root / f"sentinel-{ip}" / "work"),
            )
        )

    def start_sentinels(self) -> None:
        for ip in self.topo.sentinels:
            d = self.root / f"sentinel-{ip}"
            (d / "etc").mkdir(parents=True, exist_ok=True)
            (d / "etc" / "sentinel.conf").write_text(self.sentinel_conf(ip))
            env = {
                "REDIS_PASSWORD": self.password,
                "SENTINEL_ANNOUNCE_HOST": ip,
                "SENTINEL_CONF_SRC": str(d / "etc" / "sentinel.conf"),
                "SENTINEL_WORK_DIR": str(d / "work"),
            }
            self.procs.start([*POD_SHELL, str(script_path(SENTINEL_START))], d / "log", env=env)
        for ip in self.topo.sentinels:
            wait_for(lambda ip=ip: port_open(ip, 26379), 10, what=f"sentinel {ip}")

    def start_node(self, ip: str) -> Proc:
        d = self.root / ip
        (d / "data").mkdir(parents=True, exist_ok=True)
        conf = render_redis_conf(
            RedisConfSpec(
                maxmemory_bytes=64 << 20,
                bind=ip,
                data_dir=str(d / "data"),
                include=str(d / "run" / "runtime.conf"),
            )
        )
        (d / "redis.conf").write_text(conf)
        proc = self.procs.start([*POD_SHELL, str(script_path(REDIS_START))], d / "log", env=self.node_env(ip))
        self.nodes[ip] = proc
        wait_for(lambda: self.client(ip).ping(), 15, what=f"redis {ip}")
        return proc

    def restart_node_raw(self, ip: str) -> Proc:
        """Start redis-server on the node's existing redis.conf and runtime include, bypassing the script."""
        d = self.root / ip
        proc = self.procs.start(["redis-server", str(d / "redis.conf")], d / "log")
        self.nodes[ip] = proc
        wait_for(lambda: self.client(ip).ping(), 15, what=f"redis {ip}")
        return proc

    def start_haproxy(self) -> Proc:
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(self.haproxy_cfg)
        self.haproxy = self.procs.start(
            ["haproxy", "-db", "-f", str(cfg)], self.root / "haproxy.log", env={"REDIS_PASSWORD": self.password}
        )
        wait_for(lambda: port_open(self.topo.haproxy, WRITE_PORT), 10, what="haproxy")
        return self.haproxy

    def start_all(self) -> None:
        self.start_sentinels()
        for ip in self.topo.redis:
            self.start_node(ip)
        wait_for(self._replicas_online, 20, what="two replicas in sync")
        self.start_haproxy()
        wait_for(lambda: self.via(WRITE_PORT) == self.topo.redis[0], 15, what="haproxy write port reaches node 0")

    def _replicas_online(self) -> bool:
        info = self.client(self.topo.redis[0]).info("replication")
        return all(info.get(f"slave{i}", {}).get("state") == "online" for i in range(NODES - 1))

    def client(self, ip: str, port: int = 6379, **kw) -> redis.Redis:
        # No client-side retries: the tests measure what HAProxy does.
        return redis.Redis(
            host=ip,
            port=port,
            password=self.password,
            socket_timeout=2,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
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


def run_script(script: str, env: dict[str, str], args: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*POD_SHELL, str(script_path(script)), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
