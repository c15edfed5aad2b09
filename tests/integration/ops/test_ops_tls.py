"""Ops scripts against TLS-only Redis Clusters (issue 17): the backup
snapshot, the restore (its temporary server speaking TLS to the target) and
the failover drill, run under dash with the env the ops pods get with TLS on.
The S3 steps (aws CLI) do not talk to Redis and are covered by
test_backup_cluster.py."""

from __future__ import annotations

import pytest

from components.operations.scripts import DRILL, MIGRATE, RESTORE, SNAPSHOT
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import AUTH_ENV, PASSWORDS, ClusterHarness, masters, missing, write
from tests.integration.cluster.test_tls import certificate_names
from tests.integration.ops.helpers import run_ops
from tests.integration.ops.test_migration import NEW, TwoGroups
from tests.integration.procs import ProcGroup
from tests.integration.sentinel.harness import MASTER_SET, MasterSet
from tests.integration.sentinel.test_tls import tls_topology
from tests.integration.tls_certs import TestPki

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.17.80 - 127.0.17.90.
SOURCE_ADDRS = [f"127.0.17.{i}" for i in range(80, 86)]
TARGET_ADDRS = [f"127.0.17.{i}" for i in range(86, 89)]
TEMP_HOST = "127.0.17.90"
# The migration test: 127.0.17.100 - 127.0.17.111.
MIGRATION_ADDRS = [f"127.0.17.{i}" for i in range(100, 112)]
# The Sentinel test: address blocks 2 and 3 of tls_topology (127.0.17.56 - 127.0.17.71), and 127.0.17.91.
SENTINEL_TEMP_HOST = "127.0.17.91"
KEYS = 2_000


def tls_cluster(root, procs: ProcGroup, pki: TestPki, name: str, replicas: int, addrs: list[str]) -> ClusterHarness:
    topo = ClusterTopology(statefulset_name=name, headless_service=f"{name}-headless", namespace="redis",
                           shards=3, replicas_per_shard=replicas)
    h = ClusterHarness(root / name, procs, topo, addresses=list(addrs), tls=pki)
    h.form()
    return h


def hosts(h: ClusterHarness) -> str:
    return " ".join(h.hostname(i) for i in range(h.topology.node_count))


def test_backup_restore_and_drill_over_tls(tmp_path, procs):
    # One CA and leaf for both clusters (one deployment's Certificate would
    # name only its own pods; the test's leaf names every address used here).
    pki = TestPki(tmp_path / "tls", certificate_names() + SOURCE_ADDRS + TARGET_ADDRS + [TEMP_HOST])
    source = tls_cluster(tmp_path, procs, pki, "sessions", 1, SOURCE_ADDRS)
    items = {f"user:{i}": f"value-{i}" for i in range(KEYS)}
    write(source, items)

    out = tmp_path / "backup"
    snap = run_ops(SNAPSHOT, {"MODE": "cluster", "DEPLOYMENT": "sessions", "OUT_DIR": str(out), "REDIS_USER": "backup", "REDISCLI_AUTH": PASSWORDS["backup"],
                              "CLUSTER_NODES": hosts(source), "PATH": source.path} | source.tls_env(),
                   wrap=source.in_dns_namespace)
    assert snap.returncode == 0
    assert sorted(p.name for p in out.glob("shard-*.rdb")) == ["shard-0.rdb", "shard-1.rdb", "shard-2.rdb"]

    target = tls_cluster(tmp_path, procs, pki, "restored", 0, TARGET_ADDRS)
    res = run_ops(RESTORE, {"MODE": "cluster", "RESTORE_DIR": str(out), **AUTH_ENV,
                            "CLUSTER_NODES": hosts(target), "TEMP_HOST": TEMP_HOST, "PATH": target.path}
                  | target.tls_env(with_key=True), wrap=target.in_dns_namespace)
    assert res.returncode == 0
    assert f"keys restored: {KEYS}" in res.stdout
    assert missing(target, items) == []

    drill = run_ops(DRILL, {"MODE": "cluster", "DEPLOYMENT": "sessions", **AUTH_ENV, "PATH": source.path,
                            "CLUSTER_NODES": hosts(source), "WARMUP_SECONDS": "1", "AFTER_SECONDS": "2",
                            "HEAL_TIMEOUT": "40"} | source.tls_env(),
                    wrap=source.in_dns_namespace, timeout=120)
    assert drill.returncode == 0
    assert "acknowledged writes lost:   0" in drill.stdout and "result:                     PASS" in drill.stdout
    source.wait_healthy(list(range(6)), 20)
    assert missing(source, items) == []


def test_sentinel_backup_and_restore_over_tls(tmp_path, procs):
    source_topo, target_topo = tls_topology(2), tls_topology(3)
    names = [*source_topo.redis, *source_topo.sentinels, source_topo.haproxy,
             *target_topo.redis, *target_topo.sentinels, target_topo.haproxy, SENTINEL_TEMP_HOST]
    pki = TestPki(tmp_path / "tls", names)
    source = MasterSet(procs, tmp_path / "source", source_topo, tls=pki)
    source.start_all()
    master = source.client(source_topo.redis[0])
    master.mset({f"quote:{i}": str(i) for i in range(KEYS)})
    master.close()

    def env(ms: MasterSet) -> dict[str, str]:
        return {"MODE": "sentinel", **ms.auth_env, "SENTINEL_HOSTS": " ".join(ms.topo.sentinels),
                "MASTER_SET": MASTER_SET}

    out = tmp_path / "backup"
    snap = run_ops(SNAPSHOT, env(source) | {"DEPLOYMENT": "quotes", "OUT_DIR": str(out)} | source.tls_env())
    assert snap.returncode == 0 and (out / "shard-0.rdb").stat().st_size > 0

    target = MasterSet(procs, tmp_path / "target", target_topo, tls=pki)
    target.start_all()
    res = run_ops(RESTORE, env(target) | {"RESTORE_DIR": str(out), "TEMP_HOST": SENTINEL_TEMP_HOST}
                  | target.tls_env(with_key=True))
    assert res.returncode == 0 and f"keys restored: {KEYS}" in res.stdout
    c = target.client(target_topo.redis[0])
    try:
        assert c.dbsize() == KEYS and c.get("quote:7") == b"7"
    finally:
        c.close()


def test_node_group_migration_over_tls(tmp_path, procs):
    old = ClusterTopology(statefulset_name="carts", headless_service="carts-headless", namespace="redis",
                          shards=3, replicas_per_shard=1)
    new = ClusterTopology(statefulset_name="carts-g1", headless_service="carts-headless", namespace="redis",
                          shards=3, replicas_per_shard=1)
    pki = TestPki(tmp_path / "tls", ["*.carts-headless.redis.svc.cluster.local", *MIGRATION_ADDRS])
    h = TwoGroups(tmp_path, procs, old, new, addresses=MIGRATION_ADDRS, tls=pki)
    old_pods, new_pods = list(range(6)), list(range(NEW, NEW + 6))
    for i in old_pods:
        h.start(i)
    assert h.bootstrap(old).returncode == 0
    h.wait_healthy(old_pods, 60)
    items = {f"cart:{i}": f"items-{i}" for i in range(KEYS)}
    write(h, items)
    for i in new_pods:
        h.start(i)
    env = {"OLD_NODES": " ".join(h.hostname(i) for i in old_pods), "NEW_NODES": " ".join(h.hostname(i) for i in new_pods),
           **AUTH_ENV, "PATH": h.path, "WAIT_TIMEOUT": "60"} | h.tls_env()
    for step in ("replicas", "promote", "retire"):
        assert run_ops(MIGRATE, env | {"STEP": step}, wrap=h.in_dns_namespace).returncode == 0, step
        if step == "replicas":
            h.wait_healthy(old_pods + new_pods, 30)
    h.stop(old_pods)
    h.wait_healthy(new_pods, 30)
    view = h.view(NEW)
    assert len(masters(view)) == 3 and all(m["hostname"].startswith("carts-g1-") for m in masters(view).values())
    assert missing(h, items) == []
