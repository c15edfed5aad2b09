"""Pod specs of the backup CronJob, the restore and drill templates
(suspended CronJobs run with `kubectl create job --from=cronjob/...`), the
node-group migration Job and the backup sidecar of the Redis data pods.

Pure: no Pulumi import; plain dicts in the Kubernetes API's camelCase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.backup import scripts
from components.common.k8s import container_security_context, pod_security_context, resources
from components.redis.conf import DATA_DIR, REDIS_PORT, REDISCLI_AUTH_ENV, SCRIPTS_DIR
from components.redis.pod import REDIS_UID, secret_env

# The amazon/aws-cli image runs as root by default; any non-root uid works for
# the CLI as long as HOME is writable (it keeps a cache there).
AWS_UID = REDIS_UID
WORK_DIR = "/work"
REDIS_SCRIPTS_DIR = "/redis-scripts"
HANDOFF_DIR = "/handoff"
HANDOFF_FILE = f"{HANDOFF_DIR}/handover-done"
# Never fires; the CronJob is suspended and only used as a Job template.
NEVER = "0 0 1 1 *"


@dataclass(frozen=True)
class ObjectStore:
    """Where backups go and how the aws CLI reaches it."""

    bucket: str
    prefix: str
    region: str
    aws_cli_image: str
    endpoint: str | None = None
    credentials_secret: str | None = None
    access_key_id_key: str = "accessKeyId"
    secret_access_key_key: str = "secretAccessKey"

    def env(self) -> list[dict[str, Any]]:
        out = [
            {"name": "BUCKET", "value": self.bucket},
            {"name": "PREFIX", "value": self.prefix},
            {"name": "AWS_REGION", "value": self.region},
            {"name": "AWS_DEFAULT_REGION", "value": self.region},
            {"name": "HOME", "value": "/tmp"},
        ]
        if self.endpoint:
            out.append({"name": "S3_ENDPOINT", "value": self.endpoint})
        if self.credentials_secret:
            out += [
                secret_env("AWS_ACCESS_KEY_ID", self.credentials_secret, self.access_key_id_key),
                secret_env("AWS_SECRET_ACCESS_KEY", self.credentials_secret, self.secret_access_key_key),
            ]
        return out


@dataclass(frozen=True)
class OpsTarget:
    """One Redis deployment as the ops scripts reach it."""

    deployment: str
    mode: str
    redis_image: str
    auth_secret: str
    config_map: str
    labels: dict[str, str]
    memory: str = "1Gi"
    scratch_size: str = "10Gi"
    cluster_nodes: tuple[str, ...] = ()
    sentinel_hosts: tuple[str, ...] = ()
    master_set: str = ""
    write_host: str = ""
    replicas: int = 1
    redis_config_map: str = ""
    handover_script: str = ""

    def env(self) -> list[dict[str, Any]]:
        out = [
            {"name": "MODE", "value": self.mode},
            {"name": "DEPLOYMENT", "value": self.deployment},
            {"name": "REDIS_PORT", "value": str(REDIS_PORT)},
        ]
        if self.mode == "cluster":
            out.append({"name": "CLUSTER_NODES", "value": " ".join(self.cluster_nodes)})
        else:
            out += [
                {"name": "SENTINEL_HOSTS", "value": " ".join(self.sentinel_hosts)},
                {"name": "MASTER_SET", "value": self.master_set},
                {"name": "REPLICAS", "value": str(self.replicas)},
            ]
        return out + [secret_env(REDISCLI_AUTH_ENV, self.auth_secret)]


def _container(name: str, image: str, command: list[str], env: list[dict], mounts: list[dict],
               cpu: str = "50m", memory: str = "128Mi", cpu_limit: str = "500m", memory_limit: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "resources": resources(cpu, memory, cpu_limit, memory_limit or memory),
        "volumeMounts": mounts,
        "securityContext": container_security_context(REDIS_UID),
    }


def _scripts_volume(config_map: str, keys: tuple[str, ...] = scripts.SCRIPT_NAMES, name: str = "ops-scripts") -> dict[str, Any]:
    return {"name": name, "configMap": {"name": config_map, "items": [{"key": k, "path": k} for k in keys], "defaultMode": 0o555}}


_SCRIPTS_MOUNT = {"name": "ops-scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}
_WORK_MOUNT = {"name": "work", "mountPath": WORK_DIR}
_TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}


def _scratch(size: str) -> dict[str, Any]:
    return {"name": "work", "emptyDir": {"sizeLimit": size}}


def _pod(target: OpsTarget, service_account: str, init: list[dict], main: list[dict], volumes: list[dict]) -> dict[str, Any]:
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


def _cronjob(target: OpsTarget, schedule: str, pod: dict, suspend: bool, deadline: int, backoff: int) -> dict[str, Any]:
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


def backup_cronjob_spec(target: OpsTarget, store: ObjectStore, schedule: str, service_account: str) -> dict[str, Any]:
    """Snapshot every master (init container, redis image) into a scratch
    volume, then upload with the manifest (aws-cli image)."""
    out_env = [{"name": "OUT_DIR", "value": WORK_DIR}]
    snapshot = _container("snapshot", target.redis_image, scripts.pod_command(scripts.SNAPSHOT),
                          target.env() + out_env, [_SCRIPTS_MOUNT, _WORK_MOUNT, _TMP_MOUNT])
    upload = _container("upload", store.aws_cli_image, scripts.pod_command(scripts.UPLOAD),
                        store.env() + out_env, [_SCRIPTS_MOUNT, _WORK_MOUNT, _TMP_MOUNT], memory="256Mi")
    pod = _pod(target, service_account, [snapshot], [upload], [_scripts_volume(target.config_map), _scratch(target.scratch_size)])
    return _cronjob(target, schedule, pod, suspend=False, deadline=6 * 3600, backoff=2)


def restore_cronjob_spec(target: OpsTarget, store: ObjectStore, service_account: str) -> dict[str, Any]:
    """Suspended template: download a backup (BACKUP_PATH, default latest),
    then restore it (REPLACE=no unless set)."""
    dl_env = [{"name": "RESTORE_DIR", "value": WORK_DIR}, {"name": "BACKUP_PATH", "value": "latest"},
              {"name": "DEPLOYMENT", "value": target.deployment}]
    download = _container("download", store.aws_cli_image, scripts.pod_command(scripts.DOWNLOAD),
                          store.env() + dl_env, [_SCRIPTS_MOUNT, _WORK_MOUNT, _TMP_MOUNT], memory="256Mi")
    restore = _container("restore", target.redis_image, scripts.pod_command(scripts.RESTORE),
                         target.env() + [{"name": "RESTORE_DIR", "value": WORK_DIR}, {"name": "REPLACE", "value": "no"}],
                         [_SCRIPTS_MOUNT, _WORK_MOUNT, _TMP_MOUNT], cpu="100m", memory=target.memory, cpu_limit="1")
    pod = _pod(target, service_account, [download], [restore], [_scripts_volume(target.config_map), _scratch(target.scratch_size)])
    return _cronjob(target, NEVER, pod, suspend=True, deadline=6 * 3600, backoff=0)


def drill_cronjob_spec(target: OpsTarget, service_account: str) -> dict[str, Any]:
    """Suspended template of the failover drill (DRILL_MODE=graceful unless set)."""
    env = target.env() + [{"name": "DRILL_MODE", "value": "graceful"}]
    mounts = [_SCRIPTS_MOUNT, _TMP_MOUNT]
    volumes = [_scripts_volume(target.config_map)]
    if target.mode == "sentinel":
        env += [{"name": "WRITE_HOST", "value": target.write_host},
                {"name": "HANDOVER_SCRIPT", "value": f"{REDIS_SCRIPTS_DIR}/{target.handover_script}"}]
        mounts.append({"name": "redis-scripts", "mountPath": REDIS_SCRIPTS_DIR, "readOnly": True})
        volumes.append({"name": "redis-scripts", "configMap": {"name": target.redis_config_map, "defaultMode": 0o555}})
    drill = _container("drill", target.redis_image, scripts.pod_command(scripts.DRILL), env, mounts)
    return _cronjob(target, NEVER, _pod(target, service_account, [], [drill], volumes), suspend=True, deadline=1800, backoff=0)


def migration_job_spec(target: OpsTarget, step: str, old_nodes: tuple[str, ...], new_nodes: tuple[str, ...],
                       service_account: str) -> dict[str, Any]:
    """One step of the node-group migration (replicas, promote, retire):
    migrate.sh for a cluster, migrate-sentinel.sh for a Sentinel set."""
    script = scripts.MIGRATE_SENTINEL if target.mode == "sentinel" else scripts.MIGRATE
    env = target.env() + [
        {"name": "STEP", "value": step},
        {"name": "OLD_NODES", "value": " ".join(old_nodes)},
        {"name": "NEW_NODES", "value": " ".join(new_nodes)},
    ]
    job = _container("migrate", target.redis_image, scripts.pod_command(script), env, [_SCRIPTS_MOUNT, _TMP_MOUNT])
    pod = _pod(target, service_account, [], [job], [_scripts_volume(target.config_map)])
    return {"backoffLimit": 3, "activeDeadlineSeconds": 3600, "template": pod}


@dataclass(frozen=True)
class BackupAgent:
    """The sidecar of each Redis data pod whose preStop uploads the pod's
    persistence files (the seed's preStop backup)."""

    store: ObjectStore
    deployment: str
    config_map: str
    budget_seconds: int = 60
    handover_wait: int = 0
    extra_env: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def container(self) -> dict[str, Any]:
        env = self.store.env() + [
            {"name": "DEPLOYMENT", "value": self.deployment},
            {"name": "DATA_DIR", "value": DATA_DIR},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "HANDOFF_FILE", "value": HANDOFF_FILE},
            {"name": "HANDOVER_WAIT", "value": str(self.handover_wait)},
        ]
        c = _container("backup-agent", self.store.aws_cli_image, scripts.pod_command(scripts.AGENT), env + list(self.extra_env),
                       [{"name": "data", "mountPath": DATA_DIR, "readOnly": True}, _SCRIPTS_MOUNT, _TMP_MOUNT,
                        {"name": "handoff", "mountPath": HANDOFF_DIR, "readOnly": True}],
                       cpu="10m", memory="64Mi", cpu_limit="500m", memory_limit="256Mi")
        # No probes: the process only idles; its work is the preStop hook.
        c["lifecycle"] = {"preStop": {"exec": {"command": scripts.pod_command(scripts.PRESTOP, str(self.budget_seconds))}}}
        # The agent's own /tmp is the one the redis container mounts as well.
        c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "tmp"] + [{"name": "agent-tmp", "mountPath": "/tmp"}]
        return c

    def volumes(self) -> list[dict[str, Any]]:
        return [
            _scripts_volume(self.config_map, (scripts.S3_LIB, scripts.AGENT, scripts.PRESTOP)),
            {"name": "handoff", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "agent-tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ]
