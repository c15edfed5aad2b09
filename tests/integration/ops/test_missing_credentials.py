"""A backup whose credentials Secret was never made fails with a line naming
that Secret (the pods mount it optionally, so Redis itself still starts),
and uploads nothing."""

from __future__ import annotations

from pathlib import Path

from components.operations import scripts
from tests.integration.ops.helpers import BUCKET, run_ops, s3_client, s3_env, start_moto
from tests.integration.procs import ProcGroup


# This module's address.
MOTO_HOST = "127.0.3.10"


def test_upload_without_the_secret_stops_and_names_it(tmp_path: Path):
    procs = ProcGroup()
    try:
        endpoint = start_moto(procs, tmp_path, MOTO_HOST)
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        (out_dir / "shard-0.rdb").write_bytes(b"REDIS0011")
        (out_dir / "manifest.json").write_text("{}")
        (out_dir / "backup-path").write_text("shop/2024-01-01/20240101T000000Z")
        env = s3_env(endpoint, tmp_path) | {"OUT_DIR": str(out_dir), "DEPLOYMENT": "shop",
                                            "CREDENTIALS_SECRET": "s3-backup-credentials",
                                            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        proc = run_ops(scripts.UPLOAD, env)
        assert proc.returncode != 0
        assert "BACKUP DISABLED: Secret s3-backup-credentials" in proc.stderr
        assert s3_client(endpoint).list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
        # With the keys present the same upload goes through.
        ok = run_ops(scripts.UPLOAD, env | {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
        assert ok.returncode == 0, ok.stderr
        assert s3_client(endpoint).list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 2
    finally:
        procs.stop_all()
