"""Backups of the monitoring servers' own data: Prometheus TSDB snapshots and
Grafana's SQLite database, uploaded by a sidecar in each server's pod
(scripts/monitoring-backup.sh) to the stack's object store.

Why a sidecar and not a CronJob: both volumes are ReadWriteOnce, so only a
container of the pod that holds them can read them; and Prometheus writes a
snapshot into its own data directory, which the uploader must then read.

Why an HAProxy guard: taking a snapshot needs Prometheus's admin API
(``--web.enable-admin-api``), which also deletes series and wipes the TSDB,
and Prometheus serves it on its one web port to anyone who can reach the
query API. With backups on, Prometheus listens on the pod's loopback only and
the pod's web port is an HAProxy sidecar that refuses every path naming
``admin`` (case-insensitive, after URL decoding). Only containers of the pod
reach the admin API: the backup sidecar, and the reloader (which only reloads).

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.common.k8s import container_security_context, resources
from components.common.object_store import ObjectStore
from components.monitoring import labels as L

SCRIPT_NAME = "monitoring-backup.sh"
PUSH_JOB = "monitoring-backup"
GUARD_CONFIG = "web-guard.cfg"
# Where Prometheus listens when the guard holds the pod's web port.
PROMETHEUS_LOOPBACK_PORT = 9089
SNAPSHOT_PATH = "/api/v1/admin/tsdb/snapshot"
SCRIPTS_DIR = "/monitoring-backup"
KINDS = ("prometheus", "grafana")


def backup_script() -> str:
    return (Path(__file__).parent / "scripts" / SCRIPT_NAME).read_text()


@dataclass(frozen=True)
class CronFields:
    """A cron schedule expanded to the values each field matches, as the
    sidecar's matcher reads them (comma lists, UTC)."""

    minute: tuple[int, ...]
    hour: tuple[int, ...]
    dom: tuple[int, ...]
    month: tuple[int, ...]
    dow: tuple[int, ...]
    # Cron's rule: when both day fields are restricted, either may match.
    day_or: bool

    def env(self) -> list[dict[str, str]]:
        j = lambda v: ",".join(str(x) for x in v)  # noqa: E731
        return [
            {"name": "CRON_MINUTE", "value": j(self.minute)},
            {"name": "CRON_HOUR", "value": j(self.hour)},
            {"name": "CRON_DOM", "value": j(self.dom)},
            {"name": "CRON_MONTH", "value": j(self.month)},
            {"name": "CRON_DOW", "value": j(self.dow)},
            {"name": "CRON_DAY_OR", "value": "1" if self.day_or else "0"},
        ]


@dataclass(frozen=True)
class MonitoringBackupSpec:
    store: ObjectStore
    schedule: CronFields
    environment: str
    # Guard sidecar's image (the official haproxy image).
    guard_image: str
    # Seconds the last success may age before MonitoringBackupStale.
    max_age_seconds: int
    pushgateway_url: str | None = None


def backup_container(spec: MonitoringBackupSpec, kind: str, data_dir: str, uid: int,
                     config_map: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The sidecar and the volumes it adds (its script, its scratch space);
    it mounts the server's volume named ``data`` at ``data_dir``."""
    assert kind in KINDS, kind
    env = [
        {"name": "KIND", "value": kind},
        {"name": "ENVIRONMENT", "value": spec.environment},
        {"name": "DATA_DIR", "value": data_dir},
        {"name": "SCRATCH_DIR", "value": "/tmp"},
        *spec.store.env(),
        *spec.schedule.env(),
    ]
    if kind == "prometheus":
        env.append({"name": "SNAPSHOT_URL", "value": f"http://127.0.0.1:{PROMETHEUS_LOOPBACK_PORT}{SNAPSHOT_PATH}"})
    if spec.pushgateway_url:
        env.append({"name": "PUSHGATEWAY_URL", "value": spec.pushgateway_url})
    container = {
        "name": "backup",
        "image": spec.store.aws_cli_image,
        "command": ["sh", f"{SCRIPTS_DIR}/{SCRIPT_NAME}"],
        "env": env,
        "resources": resources("10m", "128Mi", "500m", "512Mi"),
        "volumeMounts": [
            # Prometheus: read-write, the sidecar removes the snapshot it uploaded.
            {"name": "data", "mountPath": data_dir, "readOnly": kind == "grafana"},
            {"name": "backup-script", "mountPath": SCRIPTS_DIR, "readOnly": True},
            {"name": "backup-tmp", "mountPath": "/tmp"},
        ],
        # The loop touches a heartbeat every 20 s; a hung loop goes stale.
        "livenessProbe": {"exec": {"command": ["sh", "-c", "find /tmp/heartbeat -mmin -3 | grep -q ."]},
                          "initialDelaySeconds": 60, "periodSeconds": 60},
        "securityContext": container_security_context(uid),
    }
    # Grafana's copy of its database is made here before the upload.
    scratch = "2Gi" if kind == "grafana" else "64Mi"
    volumes = [
        {"name": "backup-script", "configMap": {"name": config_map, "defaultMode": 0o555}},
        {"name": "backup-tmp", "emptyDir": {"sizeLimit": scratch}},
    ]
    return container, volumes


def render_guard_config(listen_port: int = L.PROMETHEUS_PORT, backend_port: int = PROMETHEUS_LOOPBACK_PORT,
                        bind_address: str = "0.0.0.0", backend_address: str = "127.0.0.1") -> str:
    """haproxy.cfg of the web guard in front of Prometheus."""
    lines = [
        "global",
        "  log stdout format raw local0 warning",
        "defaults",
        "  mode http",
        "  log global",
        "  timeout connect 5s",
        "  timeout client 5m",
        "  timeout server 5m",
        "frontend web",
        f"  bind {bind_address}:{listen_port}",
        # Prometheus's router cleans paths (//, /./, /../) and the Go server
        # decodes %xx: any spelling of an admin path contains "admin" once
        # decoded. Nothing else Prometheus serves has "admin" in its path.
        "  http-request deny deny_status 403 if { path,url_dec -m sub -i admin }",
        "  default_backend prometheus",
        "backend prometheus",
        f"  server local {backend_address}:{backend_port}",
    ]
    return "\n".join(lines) + "\n"


def guard_container(image: str, uid: int, config_map: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tcp = {"tcpSocket": {"port": "http"}}
    container = {
        "name": "web-guard",
        "image": image,
        "args": ["-W", "-db", "-f", f"/usr/local/etc/haproxy/{GUARD_CONFIG}"],
        "ports": [{"name": "http", "containerPort": L.PROMETHEUS_PORT}],
        "resources": resources("20m", "32Mi", "500m", "128Mi"),
        "volumeMounts": [{"name": "web-guard", "mountPath": "/usr/local/etc/haproxy", "readOnly": True}],
        "readinessProbe": {**tcp, "periodSeconds": 10},
        "livenessProbe": {**tcp, "periodSeconds": 30, "failureThreshold": 4},
        "securityContext": container_security_context(uid),
    }
    volumes = [{"name": "web-guard", "configMap": {"name": config_map}}]
    return container, volumes

