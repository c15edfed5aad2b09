"""ACL users of a Redis Cluster deployment on real redis-server: the users
file the program renders (users.acl, the app user's rules from config) with
the password files the Secrets give, loaded by the real start script.

Each internal user does its own job (the bootstrap and the scripts as
admin, replication, the real redis_exporter, the backup snapshot script)
with no command refused (ACL LOG stays empty), and is refused outside it;
the team's user is refused FLUSHALL, CONFIG and keys outside its patterns;
nobody logs in as `default`.
"""

from __future__ import annotations

import urllib.request

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import AuthenticationError, ResponseError

from components.common.redis_acl import AclSpec, AppAcl
from components.operations.scripts import SNAPSHOT
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import PASSWORDS, ClusterHarness
from tests.integration.acl.checks import refused
from tests.integration.monitoring.helpers import start_redis_exporter
from tests.integration.ops.helpers import run_ops
from tests.integration.procs import ProcGroup

pytestmark = pytest.mark.integration

ADDRS = [f"127.0.5.{i}" for i in range(10, 20)]
EXPORTER_IP = "127.0.5.30"
# A team that may use only its own keys and channels, with the default commands.
TEAM_ACL = AclSpec(app=AppAcl(keys=("app:*",), channels=("app:*",)))


def as_user(h: ClusterHarness, ordinal: int, user: str) -> redis.Redis:
    return redis.Redis(host=h.addr[ordinal], port=6379, username=user, password=PASSWORDS[user],
                       decode_responses=True, socket_timeout=5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("acl-cluster")
    group = ProcGroup()
    try:
        topo = ClusterTopology("orders", "orders-headless", "team", shards=3, replicas_per_shard=1)
        h = ClusterHarness(root, group, topo, addresses=list(ADDRS), acl=TEAM_ACL)
        # The bootstrap Job and every later script run as admin (harness AUTH_ENV).
        h.form()
        h.formed_denials = acl_denials(h)
        yield h
    finally:
        group.stop_all()


def acl_denials(h: ClusterHarness) -> list[dict]:
    out = []
    for i in h.pods:
        out += [dict(e, node=i) for e in h.node(i).acl_log()]
    return out


def test_jobs_run_as_their_users_with_nothing_refused(cluster, tmp_path, procs):
    h = cluster
    ordinals = sorted(h.pods)
    # Forming the cluster (start scripts, bootstrap, replication) was refused nothing.
    assert h.formed_denials == []
    for i in ordinals:
        h.node(i).acl_log_reset()
    # The generated users were accepted at start; default is off, every user on.
    listing = {line.split()[1]: line for line in h.node(0).acl_list()}
    assert set(listing) == {"default", "app", "admin", "replication", "exporter", "backup"}
    assert " off " in listing["default"] and "nopass" not in listing["default"]
    # Replication logs in as `replication`: every replica's link is up.
    for i in ordinals:
        info = h.node(i).info("replication")
        assert info["role"] == "master" or info["master_link_status"] == "up", (i, info)
    # The app user, through a cluster client (CLUSTER SLOTS, redirects).
    app = RedisCluster(host=h.addr[0], port=6379, username="app", password=PASSWORDS["app"], decode_responses=True,
                       address_remap=h.remap, socket_timeout=2)
    for n in range(50):
        app.set(f"app:{n}", n)
    assert app.get("app:7") == "7"
    # The exporter user, with the real redis_exporter and its password file.
    start_redis_exporter(procs, tmp_path, EXPORTER_IP, redis_ip=h.addr[0], password=PASSWORDS["exporter"], user="exporter")
    metrics = urllib.request.urlopen(f"http://{EXPORTER_IP}:9121/metrics", timeout=10).read().decode()
    for series in ("redis_up 1", "redis_cluster_enabled 1", "redis_cluster_state 1", "redis_memory_max_bytes"):
        assert series in metrics, series
    # The backup user, with the real snapshot script.
    out = tmp_path / "backup"
    snap = run_ops(SNAPSHOT, {"MODE": "cluster", "DEPLOYMENT": "orders", "OUT_DIR": str(out), "REDIS_USER": "backup",
                              "REDISCLI_AUTH": PASSWORDS["backup"], "PATH": h.path,
                              "CLUSTER_NODES": " ".join(h.hostname(i) for i in ordinals)}, wrap=h.in_dns_namespace)
    assert snap.returncode == 0
    assert sorted(p.name for p in out.glob("shard-*.rdb")) == ["shard-0.rdb", "shard-1.rdb", "shard-2.rdb"]
    # The admin user's preStop hands a master over (the graceful CLUSTER FAILOVER).
    master = next(i for i in ordinals if h.node(i).info("replication")["role"] == "master")
    stop = h.prestop(master)
    assert stop.returncode == 0 and "this node is now a replica" in stop.stdout, stop.stdout
    # None of those jobs was refused anything on any node.
    assert acl_denials(h) == []


def test_team_user_is_refused_admin_commands_and_other_keys(cluster):
    app = as_user(cluster, 0, "app")
    for call in (app.flushall, app.flushdb, lambda: app.config_get("maxmemory"),
                 lambda: app.config_set("maxmemory", "1"), lambda: app.keys("*"), app.shutdown,
                 lambda: app.execute_command("REPLICAOF", "NO", "ONE"), lambda: app.execute_command("CLUSTER", "RESET"),
                 app.bgsave, lambda: app.execute_command("CLIENT", "KILL", "ID", "1"), lambda: app.acl_list(), app.info):
        assert refused(call), call
    # Keys and channels outside its patterns: refused before any slot check.
    assert refused(lambda: app.get("other:1"))
    assert refused(lambda: app.set("other:1", "x"))
    assert refused(lambda: app.publish("other", "x"))
    reasons = {(e["username"], e["reason"]) for e in acl_denials(cluster)}
    assert ("app", "key") in reasons and ("app", "channel") in reasons and ("app", "command") in reasons


@pytest.mark.parametrize("user, allowed, refused_calls", [
    ("replication", lambda r: r.ping(),
     [lambda r: r.get("app:1"), lambda r: r.info(), lambda r: r.execute_command("CLUSTER", "NODES")]),
    ("exporter", lambda r: r.info("memory") and r.config_get("maxmemory"),
     [lambda r: r.get("app:1"), lambda r: r.set("app:1", "x"), lambda r: r.config_set("maxmemory", "1"),
      lambda r: r.execute_command("CLUSTER", "FAILOVER"), lambda r: r.flushall()]),
    ("backup", lambda r: r.execute_command("CLUSTER", "NODES"),
     [lambda r: r.get("app:1"), lambda r: r.set("app:1", "x"), lambda r: r.execute_command("CLUSTER", "FAILOVER"),
      lambda r: r.config_get("maxmemory"), lambda r: r.flushall()]),
    ("admin", lambda r: r.execute_command("CLUSTER", "NODES") and r.config_get("maxmemory"),
     # DEBUG and MODULE are also off in the server itself (enable-*-command
     # no), which refuses them before the ACL is asked.
     [lambda r: r.flushall(), lambda r: r.flushdb(), lambda r: r.execute_command("MONITOR")]),
])
def test_internal_users_are_refused_outside_their_job(cluster, user, allowed, refused_calls):
    r = as_user(cluster, 1, user)
    assert allowed(r)
    for call in refused_calls:
        assert refused(lambda: call(r)), (user, call)


def test_nobody_logs_in_as_default(cluster):
    h = cluster
    anonymous = redis.Redis(host=h.addr[0], port=6379, decode_responses=True, socket_timeout=2)
    with pytest.raises(AuthenticationError):
        anonymous.ping()
    for password in PASSWORDS.values():
        # AUTH <password> alone is AUTH default <password>.
        with pytest.raises((AuthenticationError, ResponseError)):
            redis.Redis(host=h.addr[0], port=6379, password=password, socket_timeout=2).ping()
        with pytest.raises((AuthenticationError, ResponseError)):
            redis.Redis(host=h.addr[0], port=6379, username="default", password=password, socket_timeout=2).ping()
    # A user with another user's password is refused too.
    with pytest.raises((AuthenticationError, ResponseError)):
        redis.Redis(host=h.addr[0], port=6379, username="admin", password=PASSWORDS["app"], socket_timeout=2).ping()
