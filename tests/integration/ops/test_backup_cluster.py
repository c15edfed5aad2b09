"""Backup of a live 3-shard Redis Cluster to moto's S3 server, and restore
into a new cluster with another layout (4 shards), with the pods' scripts
and the pods' S3 client (the aws CLI)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from components.operations.scripts import DOWNLOAD, RESTORE, SNAPSHOT, UPLOAD
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import AUTH_ENV, PASSWORDS, ClusterHarness, masters, missing, write
from tests.integration.ops.helpers import BUCKET, run_ops, s3_client, s3_env, start_moto
from tests.integration.monitoring.helpers import start_pushgateway
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.0.150 - 127.0.0.161.
SOURCE_ADDRS = [f"127.0.0.{i}" for i in range(150, 156)]
TARGET_ADDRS = [f"127.0.0.{i}" for i in range(156, 160)]
TEMP_HOST, MOTO_HOST = "127.0.0.160", "127.0.0.161"
# A Pushgateway the upload step reports to (backup-metrics.sh).
PUSH_HOST = "127.0.77.1"
KEYS = 10_000


def make_cluster(root, procs, name: str, shards: int, replicas: int, addrs: list[str]) -> ClusterHarness:
    topo = ClusterTopology(statefulset_name=name, headless_service=f"{name}-headless", namespace="redis",
                           shards=shards, replicas_per_shard=replicas)
    h = ClusterHarness(root / name, procs, topo, addresses=list(addrs))
    for i in range(topo.node_count):
        h.start(i)
    assert h.bootstrap(topo).returncode == 0
    h.wait_healthy(list(range(topo.node_count)), 60)
    return h


def hosts(h: ClusterHarness) -> str:
    return " ".join(h.hostname(i) for i in range(h.topology.node_count))


def test_cluster_backup_and_restore_into_another_layout(tmp_path, procs):
    endpoint = start_moto(procs, tmp_path, MOTO_HOST)
    start_pushgateway(procs, tmp_path, PUSH_HOST)
    source = make_cluster(tmp_path, procs, "sessions", 3, 1, SOURCE_ADDRS)
    items = {f"user:{i}": f"value-{i}-{'x' * (i % 50)}" for i in range(KEYS)}
    write(source, items)

    # -- backup: snapshot (redis image) then upload (aws-cli image) ---------
    out = tmp_path / "backup-out"
    snap = run_ops(SNAPSHOT, {"MODE": "cluster", "DEPLOYMENT": "sessions", "OUT_DIR": str(out),
                              # The backup Job's own ACL user, as the CronJob sets it.
                              "REDIS_USER": "backup", "REDISCLI_AUTH": PASSWORDS["backup"],
                              "CLUSTER_NODES": hosts(source), "PATH": source.path},
                   wrap=source.in_dns_namespace)
    assert snap.returncode == 0
    report = {"PUSHGATEWAY_URL": f"http://{PUSH_HOST}:9091", "DEPLOYMENT": "sessions", "TEAM": "web"}
    up = run_ops(UPLOAD, s3_env(endpoint, tmp_path) | {"OUT_DIR": str(out)} | report)
    assert up.returncode == 0
    # The run reported its outcome: success time, duration from the snapshot
    # step's start, and the snapshot bytes, under the deployment's group.
    pushed = {line.split("{")[0]: line for line in urllib.request.urlopen(f"http://{PUSH_HOST}:9091/metrics", timeout=5)
              .read().decode().splitlines() if line.startswith("redis_backup_last_")}
    assert set(pushed) == {"redis_backup_last_success_timestamp_seconds", "redis_backup_last_duration_seconds",
                           "redis_backup_last_size_bytes"}, up.stdout
    for line in pushed.values():
        assert 'deployment="sessions"' in line and 'team="web"' in line and 'job="redis-backup"' in line, line
    size = int(float(pushed["redis_backup_last_size_bytes"].rsplit(" ", 1)[1]))
    assert size == sum(f.stat().st_size for f in out.glob("shard-*.rdb")) > 0

    s3 = s3_client(endpoint)
    objects = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="backups/")["Contents"])
    backup_path = (out / "backup-path").read_text().strip()
    assert backup_path.startswith("sessions/")
    assert objects == [f"backups/{backup_path}/{n}" for n in ("manifest.json", "shard-0.rdb", "shard-1.rdb", "shard-2.rdb")]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"backups/{backup_path}/manifest.json")["Body"].read())
    print(json.dumps(manifest, indent=2))

    # The manifest matches the cluster: one shard per master, its slots and key count.
    view = source.view(0)
    live = {nid: v for nid, v in masters(view).items()}
    assert manifest["deployment"] == "sessions" and manifest["mode"] == "cluster"
    assert len(manifest["shards"]) == 3 and manifest["totalKeys"] == KEYS
    for shard in manifest["shards"]:
        node = live[shard["nodeId"]]
        assert shard["slots"] == node["slots"]
        assert shard["host"] == node["hostname"]
        ordinal = next(i for i, ip in source.addr.items() if ip == node["ip"])
        assert shard["keys"] == source.node(ordinal).dbsize()
        size = s3.head_object(Bucket=BUCKET, Key=f"backups/{backup_path}/{shard['file']}")["ContentLength"]
        assert size == shard["bytes"] > 0

    # -- restore into a new, empty 4-shard cluster --------------------------
    target = make_cluster(tmp_path, procs, "restored", 4, 0, TARGET_ADDRS)
    restore_dir = tmp_path / "restore"
    down = run_ops(DOWNLOAD, s3_env(endpoint, tmp_path) | {"BACKUP_PATH": "latest", "DEPLOYMENT": "sessions",
                                                           "RESTORE_DIR": str(restore_dir)})
    assert down.returncode == 0
    assert sorted(p.name for p in restore_dir.iterdir()) == ["manifest.json", "shard-0.rdb", "shard-1.rdb", "shard-2.rdb"]
    restore_env = {"MODE": "cluster", "RESTORE_DIR": str(restore_dir), **AUTH_ENV,
                   "CLUSTER_NODES": hosts(target), "TEMP_HOST": TEMP_HOST, "PATH": target.path}
    res = run_ops(RESTORE, restore_env, wrap=target.in_dns_namespace)
    assert res.returncode == 0
    assert f"keys restored: {KEYS}" in res.stdout
    assert missing(target, items) == []
    assert sum(target.node(i).dbsize() for i in range(4)) == KEYS
    assert all(target.node(i).dbsize() > 0 for i in range(4)), "keys landed on every one of the 4 new masters"

    # -- restoring over existing keys is refused, and writes nothing ---------
    rc = target.cluster_client()
    try:
        rc.set("user:1", "changed-after-restore")
        rc.delete("user:2")
    finally:
        rc.close()
    refused = run_ops(RESTORE, restore_env, wrap=target.in_dns_namespace)
    assert refused.returncode == 3
    assert "refusing to overwrite existing keys; nothing was written" in refused.stderr
    assert missing(target, items) == ["user:1", "user:2"]

    # -- with REPLACE=yes the backup's values win ----------------------------
    forced = run_ops(RESTORE, restore_env | {"REPLACE": "yes"}, wrap=target.in_dns_namespace)
    assert forced.returncode == 0
    assert f"keys restored: {KEYS}" in forced.stdout
    assert missing(target, items) == []
