"""The scheduled backup: a CronJob whose pod snapshots every master (init
container, redis image) into a scratch volume, then uploads the snapshots
with their manifest (aws-cli image).

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from components.common.network_policy import OBJECT_STORAGE_LABEL, PUSHER_LABEL
from components.operations import scripts
from components.operations.pods import TMP_MOUNT, SCRIPTS_MOUNT, WORK_DIR, WORK_MOUNT, container, cronjob, transfer_pod
from components.common.object_store import ObjectStore
from components.common.redis_acl import BACKUP
from components.operations.target import OpsTarget


@dataclass(frozen=True)
class BackupReport:
    """Where a backup run reports its outcome (backup-metrics.sh): the
    Pushgateway, its namespace and pod labels (for the NetworkPolicy), and the
    team label of the series."""

    pushgateway_url: str
    pushgateway_namespace: str
    pushgateway_selector: dict[str, str]
    team: str

    @property
    def port(self) -> int:
        return urlsplit(self.pushgateway_url).port or 80

    def env(self, deployment: str) -> list[dict[str, Any]]:
        return [{"name": "PUSHGATEWAY_URL", "value": self.pushgateway_url},
                {"name": "DEPLOYMENT", "value": deployment}, {"name": "TEAM", "value": self.team}]


def backup_cronjob_spec(target: OpsTarget, store: ObjectStore, schedule: str, service_account: str,
                        report: BackupReport | None = None) -> dict[str, Any]:
    out_env = [{"name": "OUT_DIR", "value": WORK_DIR}]
    mounts = [SCRIPTS_MOUNT, WORK_MOUNT, TMP_MOUNT]
    snapshot = container("snapshot", target.redis_image, scripts.pod_command(scripts.SNAPSHOT), target.env(BACKUP) + out_env, mounts)
    upload_env = store.env() + out_env + (report.env(target.deployment) if report else [])
    upload = container("upload", store.aws_cli_image, scripts.pod_command(scripts.UPLOAD), upload_env, mounts, memory="256Mi")
    pod = transfer_pod(target, service_account, snapshot, upload)
    # Selected by the ops object-storage NetworkPolicy: this pod uploads.
    pod["metadata"]["labels"][OBJECT_STORAGE_LABEL] = "true"
    if report:
        # Admitted by the Pushgateway's policy; let out by the ops pusher policy.
        pod["metadata"]["labels"][PUSHER_LABEL] = "true"
    return cronjob(target, schedule, pod, suspend=False, deadline=6 * 3600, backoff=2)
