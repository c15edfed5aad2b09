"""The scheduled backup: a CronJob whose pod snapshots every master (init
container, redis image) into a scratch volume, then uploads the snapshots
with their manifest (aws-cli image).

Pure: no Pulumi import.
"""

from __future__ import annotations

from typing import Any

from components.common.network_policy import OBJECT_STORAGE_LABEL
from components.operations import scripts
from components.operations.pods import TMP_MOUNT, SCRIPTS_MOUNT, WORK_DIR, WORK_MOUNT, container, cronjob, transfer_pod
from components.operations.store import ObjectStore
from components.operations.target import OpsTarget


def backup_cronjob_spec(target: OpsTarget, store: ObjectStore, schedule: str, service_account: str) -> dict[str, Any]:
    out_env = [{"name": "OUT_DIR", "value": WORK_DIR}]
    mounts = [SCRIPTS_MOUNT, WORK_MOUNT, TMP_MOUNT]
    snapshot = container("snapshot", target.redis_image, scripts.pod_command(scripts.SNAPSHOT), target.env() + out_env, mounts)
    upload = container("upload", store.aws_cli_image, scripts.pod_command(scripts.UPLOAD), store.env() + out_env, mounts, memory="256Mi")
    pod = transfer_pod(target, service_account, snapshot, upload)
    # Selected by the ops object-storage NetworkPolicy: this pod uploads.
    pod["metadata"]["labels"][OBJECT_STORAGE_LABEL] = "true"
    return cronjob(target, schedule, pod, suspend=False, deadline=6 * 3600, backoff=2)
