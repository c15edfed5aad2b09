"""The failover drill template: a suspended CronJob that fails the master
over under a probe writer (DRILL_MODE=graceful unless set). In Sentinel mode
it runs the data pods' own handover script, mounted from the deployment's
config, and writes through HAProxy as an application would.

Pure: no Pulumi import.
"""

from __future__ import annotations

from typing import Any

from components.operations import scripts
from components.operations.pods import NEVER, TMP_MOUNT, SCRIPTS_MOUNT, container, cronjob, job_pod, scripts_volume
from components.operations.target import OpsTarget

REDIS_SCRIPTS_DIR = "/redis-scripts"


def drill_cronjob_spec(target: OpsTarget, service_account: str) -> dict[str, Any]:
    env = target.env() + [{"name": "DRILL_MODE", "value": "graceful"}]
    mounts = [SCRIPTS_MOUNT, TMP_MOUNT]
    volumes = [scripts_volume(target.config_map)]
    if target.mode == "sentinel":
        env += [{"name": "WRITE_HOST", "value": target.write_host},
                {"name": "HANDOVER_SCRIPT", "value": f"{REDIS_SCRIPTS_DIR}/{target.handover_script}"}]
        mounts.append({"name": "redis-scripts", "mountPath": REDIS_SCRIPTS_DIR, "readOnly": True})
        volumes.append({"name": "redis-scripts", "configMap": {"name": target.redis_config_map, "defaultMode": 0o555}})
    drill = container("drill", target.redis_image, scripts.pod_command(scripts.DRILL), env, mounts)
    return cronjob(target, NEVER, job_pod(target, service_account, [], [drill], volumes), suspend=True, deadline=1800, backoff=0)
