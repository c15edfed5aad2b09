"""The Redis StatefulSet both modes run: redis container, exporter sidecar,
config and script mounts, a PVC per pod (or an emptyDir without persistence)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from components.common.k8s import ALLOW_HOST_NETWORK, RETAIN_CLAIMS, data_claim_template, container_security_context, pod_security_context, resources
from components.common.redis_contract import DATA_DIR, REDIS_UID, SCRIPTS_DIR, auth_secret_name
from components.common.scheduling import PlacementArgs, placement
from components.common.tls import CA_VOLUME, tls_env, tls_mount, tls_volume
from components.redis.common import RedisCommonArgs
from components.redis.conf import CONF_DIR, RUNTIME_DIR
from components.redis.pod import PodAdditions, exporter_container, exporter_volume, liveness_probe, scrape_annotations, startup_probe


@dataclass(frozen=True)
class RedisPodSpec:
    """What differs between the modes' Redis pods."""

    command: tuple[str, ...]
    env: tuple[dict[str, Any], ...]
    ports: tuple[dict[str, Any], ...]
    readiness: dict[str, Any]
    config_map: str
    conf_key: str
    script_keys: tuple[str, ...]
    pre_stop: tuple[str, ...] | None = None
    termination_grace_seconds: int = 60
    # Added by with_additions: containers beside redis, their volumes, and
    # mounts the redis container shares with them.
    sidecars: tuple[dict[str, Any], ...] = ()
    extra_volumes: tuple[dict[str, Any], ...] = ()
    extra_mounts: tuple[dict[str, Any], ...] = ()
    # More ConfigMap keys mounted beside the conf (users.acl).
    conf_extra_keys: tuple[str, ...] = ()
    # ACL user of the exporter sidecar and its Secret; None: the deployment's
    # one password, from the environment (no ACL users).
    exporter_user: str | None = None
    exporter_secret: str | None = None


def with_additions(pod: RedisPodSpec, additions: PodAdditions) -> RedisPodSpec:
    pre_stop = pod.pre_stop
    if additions.pre_stop_signal is not None:
        step = " ".join(pod.pre_stop) if pod.pre_stop else "true"
        pre_stop = ("sh", "-c", f"{step}; rc=$?; {additions.pre_stop_signal}; exit $rc")
    return replace(
        pod,
        pre_stop=pre_stop,
        termination_grace_seconds=pod.termination_grace_seconds + additions.grace_seconds,
        sidecars=pod.sidecars + additions.containers,
        extra_volumes=pod.extra_volumes + additions.volumes,
        extra_mounts=pod.extra_mounts + additions.redis_mounts,
    )


def statefulset_spec(
    args: RedisCommonArgs,
    pod: RedisPodSpec,
    replicas: int,
    service_name: str,
    selector: dict[str, str],
    pod_labels: dict[str, str],
    placement_args: PlacementArgs,
    service_account: str,
    conf_hash: str,
) -> dict[str, Any]:
    redis: dict[str, Any] = {
        "name": "redis",
        "image": args.image,
        "command": list(pod.command),
        "ports": list(pod.ports),
        "env": list(pod.env) + (tls_env(with_key=True) if args.tls else []),
        "resources": resources(args.cpu, args.memory, args.cpu_limit, args.memory),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "conf", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True},
            {"name": "run", "mountPath": RUNTIME_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
            *([tls_mount()] if args.tls else []),
            *pod.extra_mounts,
        ],
        "startupProbe": startup_probe(),
        "livenessProbe": liveness_probe(),
        "readinessProbe": pod.readiness,
        "securityContext": container_security_context(REDIS_UID),
    }
    if pod.pre_stop:
        redis["lifecycle"] = {"preStop": {"exec": {"command": list(pod.pre_stop)}}}
    volumes: list[dict[str, Any]] = [
        {"name": "conf", "configMap": {"name": pod.config_map,
                                       "items": [{"key": k, "path": k} for k in (pod.conf_key, *pod.conf_extra_keys)]}},
        {
            "name": "scripts",
            "configMap": {
                "name": pod.config_map,
                "items": [{"key": k, "path": k} for k in pod.script_keys],
                "defaultMode": 0o555,
            },
        },
        # The runtime include holds the password: memory only, never on disk.
        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        *([tls_volume(args.tls.secret_name, ca_only=False),
           tls_volume(args.tls.secret_name, ca_only=True, name=CA_VOLUME)] if args.tls else []),
        *pod.extra_volumes,
    ]
    if pod.exporter_user is not None:
        volumes.append(exporter_volume(pod.exporter_secret or auth_secret_name(args.name)))
    exporter = exporter_container(args.exporter_image, pod.exporter_secret or auth_secret_name(args.name), pod.exporter_user,
                                  tls=args.tls is not None)
    spec: dict[str, Any] = {
        "serviceName": service_name,
        "replicas": replicas,
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate"},
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {
                "labels": pod_labels,
                "annotations": scrape_annotations()
                | {"redis-platform/config-hash": conf_hash}
                | ({ALLOW_HOST_NETWORK: "true"} if placement_args.host_network else {}),
            },
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "terminationGracePeriodSeconds": pod.termination_grace_seconds,
                "securityContext": pod_security_context(REDIS_UID),
                "containers": [redis, exporter, *pod.sidecars],
                "volumes": volumes,
                **placement(selector, placement_args),
            },
        },
    }
    if args.persistence_enabled:
        # The template carries only what can never change for this StatefulSet
        # (its selector labels): the API server refuses any edit to it and the
        # provider would answer one by replacing the StatefulSet, every pod at
        # once. The claims themselves are the program's own objects
        # (components/common/claims.py), where size and labels change in place.
        spec["volumeClaimTemplates"] = [data_claim_template(selector, args.storage_class_name, args.volume_size)]
        # Volumes outlive a scale-in and a deleted StatefulSet: data is kept
        # until a person decides otherwise.
        spec["persistentVolumeClaimRetentionPolicy"] = RETAIN_CLAIMS
    else:
        volumes.append({"name": "data", "emptyDir": {}})
    return spec
