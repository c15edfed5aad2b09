"""A backup whose credentials Secret was never made fails with a line naming
that Secret (the pods mount it optionally, so Redis itself still starts),
uploads nothing, and says so as a metric: the run pushes
redis_backup_credentials_missing 1 to a real Pushgateway, a real Prometheus
on the generated scrape job and rules fires RedisBackupCredentialsMissing,
and the first run after the Secret appears clears it."""

from __future__ import annotations

from pathlib import Path

from components.monitoring.prometheus_config import render_prometheus_config
from components.monitoring.rules import RulesSpec, render_rule_files
from components.monitoring.rules.backup import BackupExpectation
from components.operations import scripts
from tests.integration.monitoring.helpers import alerts, loopback_spec, query, start_prometheus, start_pushgateway
from tests.integration.ops.helpers import BUCKET, run_ops, s3_client, s3_env, start_moto
from tests.integration.procs import ProcGroup, wait_for


# This module's addresses.
MOTO_HOST, PUSH, PROM = "127.0.3.10", "127.0.3.11", "127.0.3.12"


def _missing() -> list[dict]:
    return [a for a in alerts(PROM) if a["labels"]["alertname"] == "RedisBackupCredentialsMissing"]


def test_upload_without_the_secret_stops_names_it_and_alerts(tmp_path: Path):
    procs = ProcGroup()
    try:
        endpoint = start_moto(procs, tmp_path, MOTO_HOST)
        start_pushgateway(procs, tmp_path, PUSH)
        rules_dir = tmp_path / "rules"
        spec = loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir, pushgateways=[f"{PUSH}:9091"])
        rules = render_rule_files(RulesSpec(backups=(BackupExpectation("shop", 86400, "web"),)))
        start_prometheus(procs, tmp_path, PROM, render_prometheus_config(spec), rules, rules_dir)
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        (out_dir / "shard-0.rdb").write_bytes(b"REDIS0011")
        (out_dir / "manifest.json").write_text("{}")
        (out_dir / "backup-path").write_text("shop/2024-01-01/20240101T000000Z")
        env = s3_env(endpoint, tmp_path) | {"OUT_DIR": str(out_dir), "DEPLOYMENT": "shop", "TEAM": "web",
                                            "PUSHGATEWAY_URL": f"http://{PUSH}:9091",
                                            "CREDENTIALS_SECRET": "s3-backup-credentials",
                                            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
        proc = run_ops(scripts.UPLOAD, env)
        assert proc.returncode != 0
        assert "BACKUP DISABLED: Secret s3-backup-credentials" in proc.stderr
        assert "pushed: credentials missing (Secret s3-backup-credentials)" in proc.stdout
        assert s3_client(endpoint).list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0

        wait_for(lambda: [a for a in _missing() if a["state"] == "firing"], 20, interval=0.5,
                 what="RedisBackupCredentialsMissing firing")
        [alert] = _missing()
        routed = {k: alert["labels"].get(k) for k in ("severity", "job", "deployment", "team", "secret")}
        assert routed == {"severity": "warning", "job": "redis-backup", "deployment": "shop", "team": "web",
                          "secret": "s3-backup-credentials"}
        assert "Secret s3-backup-credentials" in alert["annotations"]["description"]

        # With the keys present the same upload goes through, and its report clears the alert.
        ok = run_ops(scripts.UPLOAD, env | {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
        assert ok.returncode == 0, ok.stderr
        assert s3_client(endpoint).list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 2
        wait_for(lambda: not _missing(), 20, interval=0.5, what="RedisBackupCredentialsMissing resolved")
        assert [r["value"][1] for r in query(PROM, "redis_backup_credentials_missing")] == ["0"]
    finally:
        procs.stop_all()
