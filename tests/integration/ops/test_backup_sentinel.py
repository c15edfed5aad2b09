"""Backup and restore round trip of a Sentinel deployment: the snapshot of
the master the Sentinels name goes to moto's S3 server with the aws CLI, and
comes back into another, empty master set through its current master."""

from __future__ import annotations

import json

import pytest

from components.operations.scripts import DOWNLOAD, RESTORE, SNAPSHOT, UPLOAD
from tests.integration.ops.helpers import BUCKET, run_ops, s3_client, s3_env, start_moto
from tests.integration.sentinel.harness import MASTER_SET, MasterSet, Topology

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.0.162 - 127.0.0.177.
SOURCE, TARGET = Topology(14), Topology(15)
TEMP_HOST, MOTO_HOST = "127.0.0.169", "127.0.0.177"
KEYS = 10_000


def sentinel_env(ms: MasterSet, user: str = "admin") -> dict[str, str]:
    """``user``: the ACL user the Job logs in as (backup for the snapshot, admin for the restore)."""
    return {"MODE": "sentinel", "REDIS_USER": user, "REDISCLI_AUTH": ms.passwords[user],
            "SENTINEL_HOSTS": " ".join(ms.topo.sentinels), "MASTER_SET": MASTER_SET}


def dump(ms: MasterSet) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the master: (DUMP payload, has TTL) - type, value and all."""
    c = ms.client(ms.topo.redis[0])
    try:
        return {k: (c.dump(k), c.ttl(k) > 0) for k in c.scan_iter(count=1000)}
    finally:
        c.close()


def test_sentinel_backup_and_restore_round_trip(tmp_path, procs):
    endpoint = start_moto(procs, tmp_path, MOTO_HOST)
    source = MasterSet(procs, tmp_path / "source", SOURCE)
    source.start_all()
    master = source.client(source.topo.redis[0])
    pipe = master.pipeline(transaction=False)
    for i in range(KEYS - 3):
        pipe.set(f"quote:{i}", f"{i * 7}")
    pipe.hset("hash:1", mapping={"a": "1", "b": "2"})
    pipe.zadd("zset:1", {"x": 1.5, "y": 2})
    pipe.set("ttl:1", "expires", ex=3600)
    pipe.execute()
    master.close()
    before = dump(source)
    assert len(before) == KEYS

    out = tmp_path / "backup-out"
    snap = run_ops(SNAPSHOT, sentinel_env(source, "backup") | {"DEPLOYMENT": "quotes", "OUT_DIR": str(out)})
    assert snap.returncode == 0
    assert run_ops(UPLOAD, s3_env(endpoint, tmp_path) | {"OUT_DIR": str(out)}).returncode == 0
    path = (out / "backup-path").read_text().strip()
    s3 = s3_client(endpoint)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="backups/quotes/")["Contents"])
    assert keys == [f"backups/{path}/manifest.json", f"backups/{path}/shard-0.rdb"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"backups/{path}/manifest.json")["Body"].read())
    assert manifest["mode"] == "sentinel" and manifest["totalKeys"] == KEYS
    (shard,) = manifest["shards"]
    assert shard["host"] == source.topo.redis[0] and shard["slots"] == []

    target = MasterSet(procs, tmp_path / "target", TARGET)
    target.start_all()
    restore_dir = tmp_path / "restore"
    down = run_ops(DOWNLOAD, s3_env(endpoint, tmp_path) | {"BACKUP_PATH": path, "RESTORE_DIR": str(restore_dir)})
    assert down.returncode == 0
    env = sentinel_env(target) | {"RESTORE_DIR": str(restore_dir), "TEMP_HOST": TEMP_HOST}
    res = run_ops(RESTORE, env)
    assert res.returncode == 0 and f"keys restored: {KEYS}" in res.stdout
    assert dump(target) == before

    c = target.client(target.topo.redis[0])
    c.set("quote:1", "overwritten")
    c.delete("quote:2")
    refused = run_ops(RESTORE, env)
    assert refused.returncode == 3 and "nothing was written" in refused.stderr
    assert c.get("quote:1") == b"overwritten" and c.exists("quote:2") == 0

    forced = run_ops(RESTORE, env | {"REPLACE": "yes"})
    assert forced.returncode == 0 and f"keys restored: {KEYS}" in forced.stdout
    assert dump(target) == before
    c.close()
