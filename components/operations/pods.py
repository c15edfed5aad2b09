"""The fragments every ops pod is built from: a container running one of the
ops scripts, the scripts volume and mounts, the Job pod, and a CronJob
around it (the restore and drill templates are suspended CronJobs run with
`kubectl create job --from=cronjob/...`).

Pure: no Pulumi import; plain dicts in the Kubernetes API's camelCase.
"""

from __future__ import annotations

from typing import Any

from components.common.k8s import container_security_context, pod_security_context, resources
from components.common.redis_contract import REDIS_UID, REDISCLI_AUTH_ENV, SCRIPTS_DIR
from components.common.tls import tls_env, tls_mount, tls_volume
from components.operations import scripts
from components.operations.target import OpsTarget

WORK_DIR = "/work"
# Never fires; the CronJob is suspended and only used as a Job template.
NEVER = "0 0 1 1 *"

SCRIPTS_MOUNT = {"name": "ops-scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}
WORK_MOUNT = {"name": "work", "mountPath": WORK_DIR}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}


def container(name: str, image: str, command: list[str], env: list[dict], mounts: list[dict],
              cpu: str = "50m", memory: str = "128Mi", cpu_limit: str = "500m", memory_limit: str | None = None) -> dict[str, Any]:
    """Every ops container runs as the redis uid: the amazon/aws-cli image
    runs as root by default, but any non-root uid works for the CLI as long
    as HOME is writable (it keeps a cache there)."""
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "resources": resources(cpu, memory, cpu_limit, memory_limit or memory),
        "volumeMounts": mounts,
        "securityContext": container_security_context(REDIS_UID),
    }


def scripts_volume(config_map: str, keys: tuple[str, ...] = scripts.SCRIPT_NAMES, name: str = "ops-scripts") -> dict[str, Any]:
    return {"name": name, "configMap": {"name": config_map, "items": [{"key": k, "path": k} for k in keys], "defaultMode": 0o555}}


def scratch(size: str) -> dict[str, Any]:
    return {"name": "work", "emptyDir": {"sizeLimit": size}}


def with_tls(target: OpsTarget, containers: list[dict], volumes: list[dict], key: bool) -> list[dict]:
    """TLS on: every container that holds the Redis password talks to Redis,
    so it gets the CA (and, with ``key``, the certificate and key: the
    restore's temporary server must speak TLS to the target). Returns the
    volumes with the Secret's."""
    if target.tls_secret is None:
        return volumes
    for c in containers:
        if any(e["name"] == REDISCLI_AUTH_ENV for e in c["env"]):
            c["env"] = c["env"] + tls_env(with_key=key)
            c["volumeMounts"] = c["volumeMounts"] + [tls_mount()]
    return volumes + [tls_volume(target.tls_secret, ca_only=not key)]


def job_pod(target: OpsTarget, service_account: str, init: list[dict], main: list[dict], volumes: list[dict],
            tls_key: bool = False) -> dict[str, Any]:
    volumes = with_tls(target, init + main, volumes, tls_key)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": service_account,
        # The aws CLI gets IRSA's token from its own projected volume; nothing
        # here talks to the Kubernetes API.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(REDIS_UID),
        "containers": main,
        "volumes": volumes + [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }
    if init:
        spec["initContainers"] = init
    return {"metadata": {"labels": dict(target.labels)}, "spec": spec}


def transfer_pod(target: OpsTarget, service_account: str, first: dict, then: dict, tls_key: bool = False) -> dict[str, Any]:
    """Two steps through a scratch volume: ``first`` (an init container) leaves
    files in WORK_DIR, ``then`` takes them from there (backup: snapshot, then
    upload; restore: download, then restore)."""
    return job_pod(target, service_account, [first], [then], [scripts_volume(target.config_map), scratch(target.scratch_size)],
                   tls_key)


def cronjob(target: OpsTarget, schedule: str, pod: dict, suspend: bool, deadline: int, backoff: int) -> dict[str, Any]:
    return {
        "schedule": schedule,
        "timeZone": "Etc/UTC",
        "suspend": suspend,
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "startingDeadlineSeconds": 3600,
        "jobTemplate": {
            "metadata": {"labels": dict(target.labels)},
            "spec": {"backoffLimit": backoff, "activeDeadlineSeconds": deadline, "ttlSecondsAfterFinished": 7 * 86400, "template": pod},
        },
    }
