"""Persistence alerts on a real redis-server whose volume fills up.

The data directory is a 2 MiB tmpfs mounted in the server's own mount
namespace (``unshare``), the rendered redis.conf with AOF on. Writing until
the volume is full makes the AOF write fail; BGSAVE and BGREWRITEAOF then
fail for the same reason. Growing the tmpfs (``nsenter`` into that namespace)
is the operator's fix: Redis retries and every alert resolves.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis as redis_py

from components.monitoring.prometheus_config import render_prometheus_config
from components.monitoring.rules import RulesSpec, render_rule_files
from components.redis.conf import RedisConfSpec, render_redis_conf
from tests.integration.monitoring.helpers import alerts, loopback_spec, query, redis_pod, start_prometheus, start_redis_exporter
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

REDIS_IP, PROM_IP = "127.0.2.50", "127.0.2.51"
PERSISTENCE_ALERTS = ("RedisAofWriteFailing", "RedisRdbSaveFailing", "RedisAofRewriteFailing")


def _persistence_alerts() -> dict[str, dict]:
    return {a["labels"]["alertname"]: a for a in alerts(PROM_IP) if a["labels"]["alertname"] in PERSISTENCE_ALERTS}


def test_full_volume_fires_persistence_alerts_and_fix_resolves_them(procs, tmp_path):
    for binary in ("unshare", "nsenter", "mount"):
        require(binary)
    data, conf = tmp_path / "data", tmp_path / "redis.conf"
    data.mkdir()
    conf.write_text(render_redis_conf(RedisConfSpec(maxmemory_bytes=64 << 20, bind=REDIS_IP, data_dir=str(data),
                                                    include=None, appendonly=True, save_rules=())))
    mount = 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"'
    redis = procs.start(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount, str(data),
                         require("redis-server"), str(conf)], tmp_path / "redis.log")
    wait_for(lambda: port_open(REDIS_IP, 6379), 10, what="redis on its tmpfs")
    start_redis_exporter(procs, tmp_path, REDIS_IP)
    rules_dir = tmp_path / "rules"
    spec = loopback_spec(environment="dev", prometheus_ip=PROM_IP, rules_dir=rules_dir,
                         pods=[redis_pod(REDIS_IP, "orders-0", "orders", "checkout")])
    # Short `for:` in this copy only; production keeps the rules' durations.
    rules = render_rule_files(RulesSpec(for_overrides={name: "2s" for name in PERSISTENCE_ALERTS}))
    start_prometheus(procs, tmp_path, PROM_IP, render_prometheus_config(spec), rules, rules_dir)

    c = redis_py.Redis(host=REDIS_IP, port=6379, socket_timeout=5)
    wait_for(lambda: query(PROM_IP, 'redis_aof_enabled{pod="orders-0"} == 1'), 20, what="AOF enabled, scraped")
    assert c.bgsave()
    wait_for(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 0, 10, what="first bgsave")
    time.sleep(3)
    assert not _persistence_alerts(), "persistence alerts on a healthy node"

    # Fill the volume: the AOF write fails and Redis refuses writes (MISCONF).
    # Random values: RDB compression must not make the snapshot fit after all.
    refused = None
    for i in range(200):  # 12.5 MiB at most against a 2 MiB volume
        try:
            c.set(f"k{i}", os.urandom(65536))
        except redis_py.ResponseError as exc:
            refused = str(exc)
            break
        time.sleep(0.01)
    assert refused and "MISCONF" in refused, refused
    # BGSAVE and BGREWRITEAOF may be refused at once or fail in the child.
    for command, field in ((c.bgsave, "rdb_last_bgsave_status"), (c.bgrewriteaof, "aof_last_bgrewrite_status")):
        try:
            command()
        except redis_py.ResponseError:
            pass
        wait_for(lambda field=field: c.info("persistence")[field] == "err", 15, interval=0.5, what=f"{field} err")
    info = c.info("persistence")
    print({k: info[k] for k in ("aof_last_write_status", "rdb_last_bgsave_status", "aof_last_bgrewrite_status")})
    failed = time.monotonic()
    wait_for(lambda: all(a["state"] == "firing" for a in _persistence_alerts().values())
             and set(_persistence_alerts()) == set(PERSISTENCE_ALERTS), 30, interval=0.5, what="persistence alerts firing")
    print(f"persistence alerts firing {time.monotonic() - failed:.1f}s after the failures")
    for name, alert in _persistence_alerts().items():
        assert alert["labels"]["pod"] == "orders-0" and alert["labels"]["deployment"] == "orders", alert
        assert alert["labels"]["severity"] == ("warning" if name == "RedisAofRewriteFailing" else "critical")
    assert not [a for a in alerts(PROM_IP) if a["labels"]["alertname"] == "RedisDown"]

    # The fix: a bigger volume. Redis retries the AOF write by itself.
    grown = subprocess.run(["nsenter", "-t", str(redis.pid), "-m", "mount", "-o", "remount,size=64m", str(data)],
                           capture_output=True, text=True, timeout=20)
    assert grown.returncode == 0, grown.stderr
    wait_for(lambda: c.info("persistence")["aof_last_write_status"] == "ok", 15, what="AOF writes again")
    assert c.set("after", "fix")
    assert c.bgsave()
    try:
        c.bgrewriteaof()
    except redis_py.ResponseError:
        pass  # already scheduled after the bgsave
    wait_for(lambda: (lambda i: i["rdb_last_bgsave_status"] == "ok" and i["aof_last_bgrewrite_status"] == "ok")(
        c.info("persistence")), 30, interval=0.5, what="save and rewrite succeed")
    fixed = time.monotonic()
    wait_for(lambda: not _persistence_alerts(), 30, interval=0.5, what="persistence alerts resolved")
    print(f"persistence alerts resolved {time.monotonic() - fixed:.1f}s after the fix")
    c.close()
