"""Backup outcome metrics end to end: the backup Job's last step
(scripts/backup-metrics.sh, under dash) pushes to a real Pushgateway, the
generated scrape job and rules run on a real Prometheus. Before any run
succeeds RedisBackupStale fires for the missing series; a success clears it.
A run that fails before that step pushes nothing, so the last success ages
until RedisBackupStale fires; the next successful run clears it. The second push
goes through busybox wget, as in an image without curl."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from components.operations.scripts import METRICS as SCRIPT_NAME, script_path
from components.monitoring.prometheus_config import render_prometheus_config
from components.monitoring.rules import RulesSpec, render_rule_files
from components.monitoring.rules.backup import BackupExpectation
from tests.integration.monitoring.helpers import start_pushgateway, alerts, loopback_spec, query, start_prometheus
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

PUSH, PROM = "127.0.2.80", "127.0.2.81"
MAX_AGE_S = 8  # the test's schedule: a backup every few seconds


def _run_backup_metrics(tmp_path, out_dir, path: str) -> str:
    script = tmp_path / SCRIPT_NAME
    script.write_text(script_path(SCRIPT_NAME).read_text())
    env = {"PATH": path, "PUSHGATEWAY_URL": f"http://{PUSH}:9091", "DEPLOYMENT": "orders", "TEAM": "checkout",
           "BACKUP_STARTED": str(int(time.time()) - 3), "OUT_DIR": str(out_dir)}
    result = subprocess.run([require("dash"), str(script)], env=env, capture_output=True, text=True, timeout=30)
    print(result.stdout, result.stderr)
    assert result.returncode == 0 and "pushed:" in result.stdout, result.stdout + result.stderr
    return result.stdout


def _stale() -> list[dict]:
    return [a for a in alerts(PROM) if a["labels"]["alertname"] == "RedisBackupStale"]


def test_backup_outcome_pushed_scraped_and_staleness_alerted(procs, tmp_path):
    start_pushgateway(procs, tmp_path, PUSH)
    rules_dir = tmp_path / "rules"
    spec = loopback_spec(environment="dev", prometheus_ip=PROM, rules_dir=rules_dir, pushgateways=[f"{PUSH}:9091"])
    rules = render_rule_files(RulesSpec(backups=(BackupExpectation("orders", MAX_AGE_S, "checkout"),)))
    start_prometheus(procs, tmp_path, PROM, render_prometheus_config(spec), rules, rules_dir)
    out = tmp_path / "out"
    out.mkdir()
    (out / "shard-0.rdb").write_bytes(b"r" * 1000)
    (out / "shard-1.rdb").write_bytes(b"r" * 234)

    # No backup has ever succeeded: once Prometheus and the Pushgateway have
    # run longer than the allowance, the missing series is the alert.
    wait_for(_stale, MAX_AGE_S + 15, interval=0.5, what="RedisBackupStale for a backup that never succeeded")
    [never] = _stale()
    assert never["labels"]["deployment"] == "orders" and never["labels"]["team"] == "checkout"

    _run_backup_metrics(tmp_path, out, os.environ["PATH"])
    pushed = time.monotonic()
    wait_for(lambda: query(PROM, "redis_backup_last_size_bytes"), 20, what="backup metrics scraped")
    [size] = query(PROM, "redis_backup_last_size_bytes")
    assert size["metric"] == {"__name__": "redis_backup_last_size_bytes", "job": "redis-backup",
                              "deployment": "orders", "team": "checkout"}
    assert float(size["value"][1]) == 1234
    [duration] = query(PROM, "redis_backup_last_duration_seconds")
    assert 3 <= float(duration["value"][1]) <= 10
    wait_for(lambda: not _stale(), 15, interval=0.5, what="a fresh backup is not stale")

    # The next run fails before its last step: nothing is pushed.
    wait_for(_stale, MAX_AGE_S + 15, interval=0.5, what="RedisBackupStale")
    [alert] = _stale()
    print(f"RedisBackupStale {alert['state']} {time.monotonic() - pushed:.1f}s after the last success "
          f"(max age {MAX_AGE_S}s)")
    assert alert["labels"]["deployment"] == "orders" and alert["labels"]["team"] == "checkout"
    assert alert["labels"]["severity"] == "warning"

    # A successful run, through busybox wget only.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for applet in ("wget", "timeout", "date", "wc", "tr", "cat"):
        (bindir / applet).symlink_to(require("busybox"))
    _run_backup_metrics(tmp_path, out, str(bindir))
    wait_for(lambda: not _stale(), 15, interval=0.5, what="RedisBackupStale resolved")
