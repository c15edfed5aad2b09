"""Monitoring backups end to end on real programs: Debian's Prometheus behind
the generated HAProxy guard, the backup sidecar's script under dash with
Debian's aws CLI, moto's S3 server, a real Pushgateway.

Prometheus: the guard refuses every spelling of the admin API while queries
pass; the script snapshots through the loopback port, uploads, pushes its
outcome; the backup is downloaded into a fresh data directory, a second
Prometheus starts on it and answers a range query over the backed-up range
with the same samples the first one had.

Grafana is not installable here: its backup is tested on an SQLite file made
with Python's sqlite3 in Grafana's schema shape (a dashboard row), by
content, and a copy is refused while a write transaction holds the journal.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from components.monitoring.backup import SCRIPT_NAME, SNAPSHOT_PATH, backup_script, render_guard_config
from tests.integration.monitoring.helpers import start_pushgateway, http_get
from tests.integration.ops.helpers import BUCKET, s3_client, s3_env, start_moto
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

# Addresses of issue 19's tests.
MOTO, PROM, GUARD, PUSH, RESTORED = "127.0.19.1", "127.0.19.2", "127.0.19.3", "127.0.19.4", "127.0.19.5"
PROM_PORT, GUARD_PORT = 9089, 9090
PREFIX = "monitoring"


def _run(tmp_path: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    script = tmp_path / SCRIPT_NAME
    script.write_text(backup_script())
    out = subprocess.run([require("dash"), str(script)], env={**os.environ, **env, "RUN_ONCE": "1"},
                         capture_output=True, text=True, timeout=timeout)
    print(out.stdout, out.stderr)
    return out


def _post(url: str) -> int:
    req = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _range(ip: str, port: int, promql: str, start: float, end: float) -> list[dict]:
    q = urllib.parse.urlencode({"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1"})
    body = json.loads(http_get(f"http://{ip}:{port}/api/v1/query_range?{q}"))
    assert body["status"] == "success", body
    return body["data"]["result"]


def _start_prometheus(procs, root: Path, ip: str, port: int, data: Path, admin: bool):
    config = root / f"prometheus-{ip}.yml"
    # Scrapes itself each second so the TSDB holds a known series.
    config.write_text(json.dumps({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                                  "scrape_configs": [{"job_name": "self", "static_configs": [{"targets": [f"{ip}:{port}"]}]}]}))
    argv = [require("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address={ip}:{port}"]
    if admin:
        argv.append("--web.enable-admin-api")
    proc = procs.start(argv, root / f"prometheus-{ip}.log")
    wait_for(lambda: http_get(f"http://{ip}:{port}/-/ready") is not None, 30, 0.3, what=f"prometheus on {ip}")
    return proc


def test_prometheus_snapshot_uploaded_restored_and_queried(procs, tmp_path):
    endpoint = start_moto(procs, tmp_path, MOTO)
    start_pushgateway(procs, tmp_path, PUSH)
    source = _start_prometheus(procs, tmp_path, PROM, PROM_PORT, tmp_path / "data", admin=True)
    guard_cfg = tmp_path / "guard.cfg"
    guard_cfg.write_text(render_guard_config(listen_port=GUARD_PORT, backend_port=PROM_PORT,
                                             bind_address=GUARD, backend_address=PROM))
    check = subprocess.run([require("haproxy"), "-c", "-f", str(guard_cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    procs.start([require("haproxy"), "-db", "-f", str(guard_cfg)], tmp_path / "guard.log")
    wait_for(lambda: port_open(GUARD, GUARD_PORT), 10, what="guard")

    # Through the guard (the pod's web port): queries pass, the admin API never does.
    assert json.loads(http_get(f"http://{GUARD}:{GUARD_PORT}/api/v1/query?query=up"))["status"] == "success"
    base = f"http://{GUARD}:{GUARD_PORT}"
    for path in (SNAPSHOT_PATH, "/api/v1/%61dmin/tsdb/snapshot", "/API/v1/ADMIN/tsdb/snapshot",
                 "//api/v1/admin/tsdb/snapshot", "/api/v1/./admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series?match[]=up",
                 "/api/v1/admin/tsdb/clean_tombstones"):
        assert _post(base + path) == 403, path
    assert not (tmp_path / "data" / "snapshots").exists() or not list((tmp_path / "data" / "snapshots").iterdir())

    start = time.time()
    wait_for(lambda: len(_range(PROM, PROM_PORT, 'up{job="self"}', start, time.time())[0]["values"]) >= 8
             if _range(PROM, PROM_PORT, 'up{job="self"}', start, time.time()) else False, 40, 0.5, what="10 s of samples")
    end = time.time() - 1
    before = _range(PROM, PROM_PORT, 'up{job="self"}', start, end)

    env = {**s3_env(endpoint, tmp_path, prefix=PREFIX), "KIND": "prometheus", "ENVIRONMENT": "dev",
           "DATA_DIR": str(tmp_path / "data"), "SCRATCH_DIR": str(tmp_path),
           "SNAPSHOT_URL": f"http://{PROM}:{PROM_PORT}{SNAPSHOT_PATH}", "PUSHGATEWAY_URL": f"http://{PUSH}:9091"}
    began = time.monotonic()
    result = _run(tmp_path, env)
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    print(f"prometheus backup took {took:.2f}s")
    # The uploaded snapshot is gone from the volume.
    assert list((tmp_path / "data" / "snapshots").iterdir()) == []

    s3 = s3_client(endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/dev/prometheus/")["Contents"]]
    [backup_id] = {k.split("/")[3] for k in keys}
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/dev/prometheus/{backup_id}/manifest.json")["Body"].read())
    assert manifest["kind"] == "prometheus" and manifest["backupId"] == backup_id and manifest["bytes"] > 0
    print(f"snapshot: {len(keys)} objects, {manifest['bytes']} bytes")

    pushed = http_get(f"http://{PUSH}:9091/metrics")
    pushed_size = re.search(r'^monitoring_backup_last_size_bytes\{component="prometheus",instance="",job="monitoring-backup"\} (\S+)$',
                            pushed, re.M)
    assert pushed_size and float(pushed_size.group(1)) == manifest["bytes"], pushed
    assert re.search(r'^monitoring_backup_last_success_timestamp_seconds\{component="prometheus",.*\} (\S+)$', pushed, re.M)

    # Restore (docs/operations.md): download into a fresh data directory, start Prometheus on it.
    source.stop()
    fresh = tmp_path / "restored"
    dl = subprocess.run([env["AWS_CLI"], "--endpoint-url", endpoint, "s3", "cp", "--recursive", "--only-show-errors",
                         f"s3://{BUCKET}/{PREFIX}/dev/prometheus/{backup_id}/tsdb/", str(fresh)],
                        env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert dl.returncode == 0, dl.stderr
    _start_prometheus(procs, tmp_path, RESTORED, PROM_PORT, fresh, admin=False)
    after = _range(RESTORED, PROM_PORT, f'up{{job="self",instance="{PROM}:{PROM_PORT}"}}', start, end)
    assert after, "restored Prometheus has no samples over the backed-up range"
    assert after[0]["values"] == before[0]["values"]
    print(f"restored range: {len(after[0]['values'])} points from {start:.0f} to {end:.0f}")


def _grafana_db(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE dashboard (id INTEGER PRIMARY KEY, uid TEXT, title TEXT, data TEXT, version INTEGER, updated TEXT);
        INSERT INTO dashboard (uid, title, data, version, updated)
            VALUES ('orders-ui', 'Orders (edited in the UI)', '{"panels": [{"title": "p99 latency"}]}', 7, '2025-01-31');
    """)
    db.commit()
    db.close()


def test_grafana_database_backup_by_content(procs, tmp_path):
    endpoint = start_moto(procs, tmp_path, MOTO)
    data = tmp_path / "grafana"
    data.mkdir()
    _grafana_db(data / "grafana.db")
    env = {**s3_env(endpoint, tmp_path, prefix=PREFIX), "KIND": "grafana", "ENVIRONMENT": "dev",
           "DATA_DIR": str(data), "SCRATCH_DIR": str(tmp_path), "PUSHGATEWAY_URL": ""}

    # The credentials Secret is optional (Grafana must start without it): its
    # absence is named in the log and nothing is uploaded.
    missing = _run(tmp_path, env | {"CREDENTIALS_SECRET": "s3-backup-credentials",
                                    "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert missing.returncode != 0
    assert "BACKUP DISABLED: Secret s3-backup-credentials" in missing.stderr

    # A write transaction in progress (its rollback journal exists): no copy is made.
    writer = sqlite3.connect(data / "grafana.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE dashboard SET version = 8")
    assert (data / "grafana.db-journal").exists()
    held = _run(tmp_path, env)
    writer.execute("ROLLBACK")
    writer.close()
    assert held.returncode != 0 and "no consistent copy" in held.stderr
    s3 = s3_client(endpoint)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/dev/grafana/").get("KeyCount") == 0

    result = _run(tmp_path, env)
    assert result.returncode == 0, result.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/dev/grafana/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["grafana.db", "manifest.json"]
    db_key = next(k for k in keys if k.endswith("grafana.db"))
    restored = tmp_path / "restored.db"
    restored.write_bytes(s3.get_object(Bucket=BUCKET, Key=db_key)["Body"].read())
    db = sqlite3.connect(restored)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT uid, title, data, version FROM dashboard").fetchall() == [
        ("orders-ui", "Orders (edited in the UI)", '{"panels": [{"title": "p99 latency"}]}', 7)]
    db.close()
