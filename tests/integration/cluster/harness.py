"""Runs Redis Cluster pods on loopback the way Kubernetes would.

Each "pod" is the real cluster-start.sh under dash, fed the exact redis.conf
from render_redis_conf; only what differs per pod is mapped: bind (a pod binds
0.0.0.0 on its own IP; here each node has its own 127.0.0.x so all can use
6379/16379), the data/run/conf paths, and DNS. DNS is a hosts file that every
script process sees as /etc/hosts through a private mount namespace, so the
scripts resolve the pod hostnames with their normal getent calls. Moving a
pod to a new address rewrites that file in place, as cluster DNS would.

With ``tls`` (a TestPki laid out like cert-manager's Secret) every pod gets
the rendered TLS directives and the env the component sets (REDIS_TLS and the
file paths), every script runs with it, and the harness's own clients speak
TLS verified against the test CA, names included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from components.redis.cluster_scripts import (
    BOOTSTRAP_SCRIPT,
    PRESTOP_SCRIPT,
    READY_CHECK,
    SCRIPTS_USER,
    START_SCRIPT,
    USERS_KEY,
    ClusterTopology,
    bootstrap_env,
    cluster_scripts,
    pod_hostname,
    start_env,
)
from components.common.redis_acl import CLUSTER_ROLES, AclSpec, render_users
from components.common.redis_contract import REDIS_PORT
from components.redis.conf import DEFAULT_MAXMEMORY_FRACTION, RedisConfSpec, render_redis_conf, repl_backlog_bytes
from components.common.tls import CA_ENV, CERT_ENV, KEY_ENV, TLS_ENV, TlsFiles
from tests.integration.procs import Proc, ProcGroup, port_open, require, wait_for
from tests.integration.tls_certs import TestPki

# One password per ACL user, as the program generates one Secret each; the
# admin's keeps a quote and a backslash to prove the start script's quoting.
PASSWORDS = {user: f"cluster-{user}-Pw\"with\\quotes" for user in CLUSTER_ROLES}
ADMIN_USER = SCRIPTS_USER
PASSWORD = PASSWORDS[ADMIN_USER]
# How the scripts log in (the pods' REDIS_USER and REDISCLI_AUTH).
AUTH_ENV = {"REDIS_USER": ADMIN_USER, "REDISCLI_AUTH": PASSWORD}
# Addresses assigned to this suite: 127.0.0.10 - 127.0.0.49.
ADDRESS_POOL = [f"127.0.0.{i}" for i in range(10, 50)]
MAXMEMORY = 64 * 1024 * 1024
# The pods run busybox's tools (redis:*-alpine); the scripts get them first on
# PATH so a GNU-only option or awk extension fails here too. The shell is dash.
BUSYBOX_APPLETS = ("awk", "sed", "grep", "sort", "tr", "timeout", "head", "wc", "date", "sleep",
                   "mv", "rm", "chmod", "mkdir", "dirname", "cat", "hostname", "cut", "md5sum")


class ClusterHarness:
    def __init__(self, root: Path, group: ProcGroup, topology: ClusterTopology,
                 addresses: list[str] | None = None, maxmemory: int = MAXMEMORY, conf: dict | None = None,
                 tls: TestPki | None = None, acl: AclSpec | None = None):
        """``addresses``: this user's own block of 127.0.0.x, so suites can run
        side by side; ``maxmemory``: what the pods' redis.conf says; ``tls``:
        the certificate files every pod and client uses (None: plain TCP);
        ``acl``: the users (the app user's rules from config)."""
        for binary in ("redis-server", "redis-cli", "dash", "unshare", "getent"):
            require(binary)
        busybox = require("busybox")
        self.root = root
        self.group = group
        self.topology = topology
        self.scripts = root / "scripts"
        self.scripts.mkdir(parents=True)
        for name, text in cluster_scripts().items():
            (self.scripts / name).write_text(text)
        self.bin = root / "bin"
        self.bin.mkdir()
        for applet in BUSYBOX_APPLETS:
            (self.bin / applet).symlink_to(busybox)
        self.path = f"{self.bin}:{os.environ['PATH']}"
        # The ConfigMap's users.acl and the projected Secret files, one per user.
        self.users_acl = root / USERS_KEY
        self.users_acl.write_text(render_users(acl or AclSpec()))
        self.acl_dir = root / "acl"
        self.acl_dir.mkdir()
        for user, password in PASSWORDS.items():
            (self.acl_dir / user).write_text(password)
        self.hosts = root / "hosts"
        self.hosts.write_text("127.0.0.1 localhost\n")
        self._free = list(addresses or ADDRESS_POOL)
        self.maxmemory = maxmemory
        # RedisConfSpec fields as the component would set them from config.
        self.conf = conf or {}
        self.addr: dict[int, str] = {}
        self.pods: dict[int, Proc] = {}
        self.tls = tls
        # More env of every pod started from now on, as the component adds it
        # (NODE_ZONES_FILE with zone discovery on).
        self.pod_env: dict[str, str] = {}

    def tls_env(self, with_key: bool = False) -> dict[str, str]:
        """What the component puts in a container's env with TLS on (components/common/tls.py)."""
        if self.tls is None:
            return {}
        env = {TLS_ENV: "yes", CA_ENV: str(self.tls.ca)}
        if with_key:
            # Short reload interval: the rotation test waits for it.
            env |= {CERT_ENV: str(self.tls.cert), KEY_ENV: str(self.tls.key), "TLS_RELOAD_INTERVAL_SECONDS": "1"}
        return env

    def client_kwargs(self) -> dict:
        """redis-py options for this harness's pods: TLS verified against the CA."""
        if self.tls is None:
            return {}
        return {"ssl": True, "ssl_ca_certs": str(self.tls.ca), "ssl_check_hostname": True}

    # -- addresses and DNS ------------------------------------------------
    def hostname(self, ordinal: int) -> str:
        return pod_hostname(self.topology, ordinal)

    def move(self, ordinals: list[int]) -> None:
        """Give pods new addresses and publish them in DNS (the hosts file)."""
        for i in ordinals:
            self.addr[i] = self._free.pop(0)
        lines = ["127.0.0.1 localhost"] + [f"{ip} {self.hostname(i)}" for i, ip in sorted(self.addr.items())]
        # Same inode: the bind mounts in running namespaces see the change.
        with open(self.hosts, "r+") as fh:
            fh.truncate(0)
            fh.write("\n".join(lines) + "\n")

    def in_dns_namespace(self, argv: list[str]) -> list[str]:
        wrapper = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", wrapper, str(self.hosts), *argv]

    def remap(self, address: tuple[str, int]) -> tuple[str, int]:
        """redis-py address_remap: pod hostname -> its current loopback address."""
        host, port = address
        for i, ip in self.addr.items():
            if host == self.hostname(i):
                return ip, port
        return host, port

    # -- pods -------------------------------------------------------------
    def start(self, ordinal: int, wait: bool = True, bin_dir: Path | None = None) -> Proc:
        """``bin_dir`` goes first on the pod's PATH: how a test gives one pod
        another redis-server (a version change) with the same script."""
        if ordinal not in self.addr:
            self.move([ordinal])
        ip = self.addr[ordinal]
        pod = self.root / f"pod-{ordinal}"
        conf, run, data = pod / "conf" / "redis.conf", pod / "run", pod / "data"
        for d in (conf.parent, run, data):
            d.mkdir(parents=True, exist_ok=True)
        runtime = run / "runtime.conf"
        # bind-source-addr: a pod has one address; here the cluster bus must
        # leave from the node's own 127.0.0.x or peers record 127.0.0.1.
        spec = RedisConfSpec(maxmemory_bytes=self.maxmemory, cluster_enabled=True, bind=ip, data_dir=str(data),
                             include=str(runtime), replicas_per_master=self.topology.replicas_per_shard,
                             repl_backlog_bytes=repl_backlog_bytes(int(self.maxmemory / DEFAULT_MAXMEMORY_FRACTION)),
                             extra={"bind-source-addr": ip}, acl_users=True,
                             tls=TlsFiles(str(self.tls.cert), str(self.tls.key), str(self.tls.ca)) if self.tls else None,
                             **self.conf)
        conf.write_text(render_redis_conf(spec))
        env = start_env(self.topology) | {
            "REDIS_CONF": str(conf),
            "RUNTIME_CONF": str(runtime),
            "DATA_DIR": str(data),
            "POD_NAME": f"{self.topology.statefulset_name}-{ordinal}",
            "NAMESPACE": self.topology.namespace,
            "POD_IP": ip,
            "USERS_ACL": str(self.users_acl),
            "ACL_DIR": str(self.acl_dir),
            **AUTH_ENV,
            "PATH": f"{bin_dir}:{self.path}" if bin_dir else self.path,
        } | self.tls_env(with_key=True) | self.pod_env
        argv = self.in_dns_namespace(["dash", str(self.scripts / START_SCRIPT)])
        proc = self.group.start(argv, self.root / f"pod-{ordinal}.log", env=env)
        self.pods[ordinal] = proc
        if wait:
            self.wait_up(ordinal)
        return proc

    def wait_up(self, ordinal: int, timeout: float = 30) -> None:
        proc, ip = self.pods[ordinal], self.addr[ordinal]
        try:
            wait_for(lambda: port_open(ip, REDIS_PORT) and self.node(ordinal).ping(), timeout, what=f"pod {ordinal} on {ip}")
        except TimeoutError:
            raise AssertionError(f"pod {ordinal} did not come up:\n{proc.tail()}") from None

    def ready(self, ordinal: int) -> bool:
        """The pod's readiness probe: the rendered command, run against this pod's address."""
        check = READY_CHECK.replace("-h 127.0.0.1", f"-h {self.addr[ordinal]}")
        env = dict(os.environ) | AUTH_ENV | {"PATH": self.path} | self.tls_env()
        return subprocess.run(["dash", "-c", check], env=env, capture_output=True, timeout=15).returncode == 0

    def prestop(self, ordinal: int, timeout_s: int = 20) -> subprocess.CompletedProcess:
        env = dict(os.environ) | AUTH_ENV | {"LOCAL_REDIS_HOST": self.addr[ordinal], "PATH": self.path} \
            | self.tls_env()
        return subprocess.run(["dash", str(self.scripts / PRESTOP_SCRIPT), str(timeout_s)], env=env,
                              capture_output=True, text=True, timeout=timeout_s + 30)

    def stop(self, ordinals: list[int], sig: int = signal.SIGTERM) -> None:
        """Signal all first, then wait: the pods go down together."""
        for i in ordinals:
            if self.pods[i].alive():
                os.kill(self.pods[i].pid, sig)
        for i in ordinals:
            self.pods[i].stop()

    def log(self, ordinal: int) -> str:
        return (self.root / f"pod-{ordinal}.log").read_text(errors="replace")

    def runtime_conf(self, ordinal: int) -> Path:
        return self.root / f"pod-{ordinal}" / "run" / "runtime.conf"

    # -- bootstrap Job ----------------------------------------------------
    def bootstrap(self, topology: ClusterTopology, **extra_env: str) -> subprocess.CompletedProcess:
        env = dict(os.environ) | bootstrap_env(topology) | extra_env | {
            **AUTH_ENV, "WAIT_TIMEOUT_SECONDS": "60", "PATH": self.path} | self.tls_env()
        argv = self.in_dns_namespace(["dash", str(self.scripts / BOOTSTRAP_SCRIPT)])
        started = time.monotonic()
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
        print(f"--- bootstrap {topology.shards}x{topology.replicas_per_shard} "
              f"({time.monotonic() - started:.1f}s, rc={result.returncode}) ---\n{result.stdout}{result.stderr}")
        return result

    # -- clients and cluster views ---------------------------------------
    def node(self, ordinal: int) -> redis.Redis:
        return redis.Redis(host=self.addr[ordinal], port=REDIS_PORT, username=ADMIN_USER, password=PASSWORD,
                           decode_responses=True, socket_timeout=2, socket_connect_timeout=1, **self.client_kwargs())

    def cluster_client(self) -> RedisCluster:
        first = min(i for i, p in self.pods.items() if p.alive())
        return RedisCluster(host=self.addr[first], port=REDIS_PORT, username=ADMIN_USER, password=PASSWORD,
                            decode_responses=True, address_remap=self.remap, socket_timeout=1, socket_connect_timeout=1,
                            **self.client_kwargs())

    def cluster_info(self, ordinal: int) -> dict[str, str]:
        text = self.node(ordinal).execute_command("CLUSTER", "INFO")
        if isinstance(text, dict):
            return {k: str(v) for k, v in text.items()}
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def view(self, ordinal: int) -> dict[str, dict]:
        """CLUSTER NODES as seen by one pod: node id -> address, hostname, flags, master, slots."""
        out = {}
        for line in self.node(ordinal).execute_command("CLUSTER", "NODES").splitlines():
            f = line.split()
            addr, _, rest = f[1].partition("@")
            out[f[0]] = {
                "ip": addr.rsplit(":", 1)[0],
                "hostname": (rest.split(",") + [""])[1],
                "flags": set(f[2].split(",")),
                "master": f[3],
                "slots": f[8:],
            }
        return out

    def roles(self, ordinal: int = 0) -> dict[str, tuple[str, str]]:
        """node id -> (role, master id) from one pod's view."""
        return {nid: ("master" if "master" in v["flags"] else "slave", v["master"])
                for nid, v in self.view(ordinal).items()}

    def healthy(self, ordinals: list[int]) -> bool:
        """Every pod says ok, knows every pod, flags none failed, and has its current address."""
        ip_of = {self.hostname(i): self.addr[i] for i in ordinals}
        if len({tuple(sorted(self.roles(i).items())) for i in ordinals}) != 1:
            return False
        for i in ordinals:
            info = self.cluster_info(i)
            if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(ordinals):
                return False
            for v in self.view(i).values():
                if v["flags"] & {"fail", "fail?", "handshake", "noaddr"} or ip_of.get(v["hostname"]) != v["ip"]:
                    return False
        return True

    def form(self) -> None:
        """Every pod started, the bootstrap run, the whole cluster healthy."""
        for i in range(self.topology.node_count):
            self.start(i, wait=False)
        for i in range(self.topology.node_count):
            self.wait_up(i)
        assert self.bootstrap(self.topology).returncode == 0
        self.wait_healthy(list(range(self.topology.node_count)), timeout=60)

    def wait_healthy(self, ordinals: list[int], timeout: float) -> float:
        started = time.monotonic()
        wait_for(lambda: self.healthy(ordinals), timeout, interval=0.25, what="cluster healthy on every pod")
        return time.monotonic() - started

@contextmanager
def formed_cluster(workdir: Path, topology: ClusterTopology, addresses: list[str], **options) -> Iterator[ClusterHarness]:
    """A cluster formed by the generated scripts, every process stopped (by
    PID) when the block ends, however it ends."""
    group = ProcGroup()
    try:
        h = ClusterHarness(workdir, group, topology, addresses=addresses, **options)
        h.form()
        yield h
    finally:
        group.stop_all()


# -- data and views shared by the tests -------------------------------------

def write(h: ClusterHarness, items: dict[str, str]) -> None:
    rc = h.cluster_client()
    try:
        keys = list(items)
        for start in range(0, len(keys), 500):
            pipe = rc.pipeline(transaction=False)
            for k in keys[start:start + 500]:
                pipe.set(k, items[k])
            assert all(pipe.execute())
    finally:
        rc.close()


def missing(h: ClusterHarness, items: dict[str, str]) -> list[str]:
    rc = h.cluster_client()
    try:
        keys, lost = list(items), []
        for start in range(0, len(keys), 500):
            pipe = rc.pipeline(transaction=False)
            chunk = keys[start:start + 500]
            for k in chunk:
                pipe.get(k)
            lost += [k for k, v in zip(chunk, pipe.execute()) if v != items[k]]
        return lost
    finally:
        rc.close()


def masters(view: dict[str, dict]) -> dict[str, dict]:
    return {nid: v for nid, v in view.items() if "master" in v["flags"] and v["slots"]}


def replicas_of(view: dict[str, dict], master_id: str) -> list[dict]:
    return [v for v in view.values() if "slave" in v["flags"] and v["master"] == master_id]


def slot_set(ranges: list[str]) -> set[int]:
    out: set[int] = set()
    for r in ranges:
        lo, _, hi = r.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


class ClusterWriter(threading.Thread):
    """Cluster-aware writer: one new key per write, spread over every shard;
    records every acknowledged write and counts refused ones."""

    def __init__(self, h: ClusterHarness, prefix: str, seconds: float):
        super().__init__(daemon=True)
        self.h, self.prefix, self.seconds = h, prefix, seconds
        self.acked: dict[str, str] = {}
        self.refused = 0
        self.done = threading.Event()

    def run(self) -> None:
        rc, n = self.h.cluster_client(), 0
        deadline = time.monotonic() + self.seconds
        while not self.done.is_set() and time.monotonic() < deadline:
            key, n = f"{self.prefix}:{{{n % 97}}}:{n}", n + 1
            try:
                rc.set(key, key)
                self.acked[key] = key
            # RedisClusterException is not a RedisError: the client raises it
            # when a node it asks for the slot map knows none (a node just
            # removed from the cluster, still running). A refused write too.
            except (RedisError, RedisClusterException):
                self.refused += 1
                time.sleep(0.05)
        rc.close()

    def stop(self) -> None:
        self.done.set()
        self.join(30)
