"""The restore template: a suspended CronJob whose pod downloads a backup
(BACKUP_PATH, default latest) into a scratch volume, then loads it into the
deployment (REPLACE=no unless set). docs/operations.md has the commands.

Pure: no Pulumi import.
"""

from __future__ import annotations

from typing import Any

from components.common.network_policy import OBJECT_STORAGE_LABEL
from components.operations import scripts
from components.operations.pods import NEVER, TMP_MOUNT, SCRIPTS_MOUNT, WORK_DIR, WORK_MOUNT, container, cronjob, transfer_pod
from components.common.object_store import ObjectStore
from components.operations.target import OpsTarget


def restore_cronjob_spec(target: OpsTarget, store: ObjectStore, service_account: str) -> dict[str, Any]:
    dl_env = [{"name": "RESTORE_DIR", "value": WORK_DIR}, {"name": "BACKUP_PATH", "value": "latest"},
              {"name": "DEPLOYMENT", "value": target.deployment}]
    mounts = [SCRIPTS_MOUNT, WORK_MOUNT, TMP_MOUNT]
    download = container("download", store.aws_cli_image, scripts.pod_command(scripts.DOWNLOAD), store.env() + dl_env, mounts, memory="256Mi")
    restore = container("restore", target.redis_image, scripts.pod_command(scripts.RESTORE),
                        target.env() + [{"name": "RESTORE_DIR", "value": WORK_DIR}, {"name": "REPLACE", "value": "no"}],
                        mounts, cpu="100m", memory=target.memory, cpu_limit="1")
    # tls_key: the temporary server speaks TLS to the target (restore.sh, temp_ports).
    pod = transfer_pod(target, service_account, download, restore, tls_key=True)
    # Selected by the ops object-storage NetworkPolicy: this pod downloads.
    pod["metadata"]["labels"][OBJECT_STORAGE_LABEL] = "true"
    return cronjob(target, NEVER, pod, suspend=True, deadline=6 * 3600, backoff=0)
