"""Section 1: one node on the generated redis.conf vs bare redis-server.

The generated node is started by the project's own start script
(sentinel-redis-start.sh) on the rendered text; no Sentinel answers, so it
writes its runtime include (password) and starts as the initial master. The
baseline is ``redis-server`` with its defaults and persistence off.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import redis

from bench import defaults, rbench
from bench.result import log
from components.redis.conf import render_redis_conf
from components.redis.sentinel_scripts import REDIS_START, script_path
from tests.integration.procs import ProcGroup, port_open, require, wait_for


def start_bare(group: ProcGroup, root: Path) -> rbench.Target:
    d = root / "bare"
    d.mkdir(parents=True)
    group.start([require("redis-server"), "--bind", defaults.BARE_IP, "--port", "6379",
                 "--save", "", "--appendonly", "no", "--dir", str(d)], d / "log")
    wait_for(lambda: port_open(defaults.BARE_IP, 6379), 10, what="bare redis-server")
    return rbench.Target(defaults.BARE_IP)


def start_generated(group: ProcGroup, root: Path) -> tuple[rbench.Target, str]:
    """(target, redis.conf text) of a node on the generated config."""
    ip, d = defaults.GENERATED_IP, root / "generated"
    (d / "data").mkdir(parents=True)
    conf = render_redis_conf(defaults.redis_conf_spec("sentinel", ip, d / "data", d / "run" / "runtime.conf"))
    (d / "redis.conf").write_text(conf)
    password = secrets.token_urlsafe(18)
    env = defaults.lone_node_env(ip, d, password)
    group.start([require("dash"), str(script_path(REDIS_START))], d / "log", env=env)
    client = redis.Redis(host=ip, username="admin", password=password, socket_timeout=2)
    wait_for(lambda: client.info("replication")["role"] == "master", 30, what="redis on the generated config, as master")
    client.close()
    return rbench.Target(ip, password=password, user="app"), conf


def run(root: Path, plan: rbench.Plan, bare: rbench.Target) -> None:
    group = ProcGroup()
    try:
        target, conf = start_generated(group, root)
        settings = [ln for ln in conf.splitlines() if ln.split(" ")[0] in ("appendonly", "appendfsync", "maxmemory", "save")]
        log(f"section 1: generated redis.conf ({'; '.join(settings)}) vs bare redis-server")
        rbench.compare("conf", target, bare, "bare redis-server: defaults, --save '' --appendonly no", plan)
    finally:
        group.stop_all()
