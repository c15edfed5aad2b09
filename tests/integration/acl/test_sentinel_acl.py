"""ACL users of a Sentinel deployment on real redis-server, redis-sentinel
and HAProxy: the rendered users files (data nodes and Sentinels) with one
password file per user, loaded by the real start scripts.

Forming the set, HAProxy's checks, a Sentinel failover, the real exporter
on a data node and on a Sentinel, and the backup snapshot script each run
as their own user with nothing refused (ACL LOG empty everywhere); then each
user is refused outside its job, and nobody logs in as `default`.
"""

from __future__ import annotations

import urllib.request

import pytest
import redis
from redis.exceptions import AuthenticationError, ResponseError
from redis.sentinel import Sentinel

from components.operations.scripts import SNAPSHOT
from tests.integration.acl.checks import refused
from tests.integration.monitoring.helpers import start_redis_exporter
from tests.integration.ops.helpers import run_ops
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import MASTER_SET, WRITE_PORT, MasterSet, Topology

pytestmark = pytest.mark.integration

EXPORTER_IPS = ("127.0.5.140", "127.0.5.141")


# This module's own addresses: 127.0.5.100 - 127.0.5.106.
TOPOLOGY = Topology(subnet="127.0.5", first=100)


def as_user(ms: MasterSet, ip: str, user: str, port: int = 6379) -> redis.Redis:
    return redis.Redis(host=ip, port=port, username=user, password=ms.passwords[user], decode_responses=True,
                       socket_timeout=5)


def denials(ms: MasterSet) -> list:
    out = []
    for ip in ms.topo.redis:
        out += [(ip, e) for e in ms.client(ip).acl_log()]
    for ip in ms.topo.sentinels:
        out += [(ip, e) for e in ms.client(ip, 26379).execute_command("ACL", "LOG")]
    return out


def reset_denials(ms: MasterSet) -> None:
    for ip in ms.topo.redis:
        ms.client(ip).acl_log_reset()
    for ip in ms.topo.sentinels:
        ms.client(ip, 26379).execute_command("ACL", "LOG", "RESET")


def test_every_job_as_its_user_then_refusals(tmp_path, procs):
    ms = MasterSet(procs, tmp_path, TOPOLOGY)
    # Start scripts (admin), Sentinels watching the nodes and each other
    # (sentinel), replication, HAProxy's checks (haproxy).
    ms.start_all()
    assert denials(ms) == []
    old = ms.topo.redis[0]

    # A failover: the Sentinels reconfigure the nodes as `sentinel`.
    assert ms.client(ms.topo.sentinels[0], 26379).execute_command("SENTINEL", "FAILOVER", MASTER_SET)
    wait_for(lambda: ms.via(WRITE_PORT) not in (None, old), 40, what="haproxy writes to the new master")
    new = ms.via(WRITE_PORT)
    wait_for(lambda: ms._replicas_online_of(new), 30, what="both replicas in sync with the new master")

    # The team's clients: through HAProxy, and Sentinel-aware.
    app = redis.Redis(host=ms.topo.haproxy, port=WRITE_PORT, username="app", password=ms.passwords["app"],
                      decode_responses=True, socket_timeout=5)
    assert app.set("k", "v") and app.get("k") == "v"
    sentinel = Sentinel([(ip, 26379) for ip in ms.topo.sentinels],
                        sentinel_kwargs={"username": "app", "password": ms.passwords["app"], "socket_timeout": 5},
                        username="app", password=ms.passwords["app"], socket_timeout=5, decode_responses=True)
    assert sentinel.discover_master(MASTER_SET)[0] == new
    assert sentinel.master_for(MASTER_SET).get("k") == "v"
    assert len(sentinel.discover_slaves(MASTER_SET)) == 2

    # The real exporter, on a data node and on a Sentinel, with password files.
    start_redis_exporter(procs, tmp_path, EXPORTER_IPS[0], redis_ip=new, password=ms.passwords["exporter"],
                         user="exporter")
    start_redis_exporter(procs, tmp_path, EXPORTER_IPS[1], redis_ip=ms.topo.sentinels[0], redis_port=26379,
                         password=ms.passwords["exporter"], user="exporter")
    data = urllib.request.urlopen(f"http://{EXPORTER_IPS[0]}:9121/metrics", timeout=10).read().decode()
    assert "redis_up 1" in data and "redis_connected_slaves 2" in data
    sent = urllib.request.urlopen(f"http://{EXPORTER_IPS[1]}:9121/metrics", timeout=10).read().decode()
    assert "redis_up 1" in sent and "redis_sentinel_masters 1" in sent
    assert "redis_sentinel_master_ckquorum_status" in sent

    # The backup snapshot: the master from the Sentinels, an RDB from it.
    out = tmp_path / "backup"
    snap = run_ops(SNAPSHOT, {"MODE": "sentinel", "DEPLOYMENT": "quotes", "OUT_DIR": str(out), "REDIS_USER": "backup",
                              "REDISCLI_AUTH": ms.passwords["backup"], "MASTER_SET": MASTER_SET,
                              "SENTINEL_HOSTS": " ".join(ms.topo.sentinels)})
    assert snap.returncode == 0 and (out / "shard-0.rdb").stat().st_size > 0

    # None of those jobs was refused anything, on any node or Sentinel.
    assert denials(ms) == []

    node, sent_ip = new, ms.topo.sentinels[1]
    app_node, app_sent = as_user(ms, node, "app"), as_user(ms, sent_ip, "app", 26379)
    for call in (app_node.flushall, lambda: app_node.config_get("maxmemory"), lambda: app_node.keys("*"),
                 lambda: app_node.execute_command("REPLICAOF", "NO", "ONE"), app_node.shutdown,
                 lambda: app_sent.execute_command("SENTINEL", "FAILOVER", MASTER_SET),
                 lambda: app_sent.execute_command("SENTINEL", "SET", MASTER_SET, "quorum", "1"),
                 lambda: app_sent.execute_command("SENTINEL", "RESET", "*")):
        assert refused(call), call
    for user, on_node, on_sentinel in (
        ("haproxy", [lambda r: r.get("k"), lambda r: r.config_get("maxmemory")],
         [lambda r: r.execute_command("SENTINEL", "FAILOVER", MASTER_SET)]),
        ("sentinel", [lambda r: r.get("k"), lambda r: r.flushall(), lambda r: r.config_set("maxmemory", "1")],
         [lambda r: r.execute_command("SENTINEL", "FAILOVER", MASTER_SET),
          lambda r: r.execute_command("SENTINEL", "SET", MASTER_SET, "quorum", "1")]),
        ("backup", [lambda r: r.get("k"), lambda r: r.config_get("maxmemory")],
         [lambda r: r.execute_command("SENTINEL", "FAILOVER", MASTER_SET)]),
        ("exporter", [lambda r: r.get("k"), lambda r: r.config_set("maxmemory", "1")],
         [lambda r: r.execute_command("SENTINEL", "FAILOVER", MASTER_SET)]),
        ("replication", [lambda r: r.get("k"), lambda r: r.info()], []),
        ("admin", [lambda r: r.flushall(), lambda r: r.flushdb()], []),
    ):
        r = as_user(ms, node, user)
        for call in on_node:
            assert refused(lambda: call(r)), (user, "node", call)
        if on_sentinel:
            s = as_user(ms, sent_ip, user, 26379)
            for call in on_sentinel:
                assert refused(lambda: call(s)), (user, "sentinel", call)
    assert ms.sentinel_master(sent_ip) == new, "nothing refused above changed the set"

    # Nobody logs in as `default`, with any of the passwords.
    for ip, port in ((node, 6379), (sent_ip, 26379)):
        with pytest.raises(AuthenticationError):
            redis.Redis(host=ip, port=port, socket_timeout=2).ping()
        for password in ms.passwords.values():
            with pytest.raises((AuthenticationError, ResponseError)):
                redis.Redis(host=ip, port=port, password=password, socket_timeout=2).ping()
    reset_denials(ms)
