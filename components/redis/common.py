"""What both Redis modes create the same way: the generated password and its
Secret, the config ConfigMap, and the annotations naming the mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.common.k8s import metadata
from components.common.redis_acl import (
    APP, EXPORTER, EXPORTER_PASSWORD_FILE_KEY, USERNAME_KEY, AclSpec, exporter_password_file, secret_name,
)
from components.common.redis_contract import PASSWORD_KEY, auth_secret_name
from components.common.tls import CERT_MANAGER_API, TlsArgs, TlsFiles, certificate_spec
from components.redis.conf import RedisConfSpec, maxmemory_bytes, repl_backlog_bytes
from components.redis.pod import PodAdditions


@dataclass(frozen=True)
class RedisCommonArgs:
    """Args every Redis deployment has, whatever its mode."""

    name: str
    namespace: str
    team: str
    image: str
    exporter_image: str
    cpu: str
    memory: str
    cpu_limit: str
    memory_bytes: int
    maxmemory_policy: str
    maxmemory_fraction: float
    persistence_enabled: bool
    volume_size: str
    storage_class_name: str
    save_rules: tuple[tuple[int, int], ...]
    appendfsync: str
    monitoring_namespace: str
    client_pod_selector: dict[str, str]
    client_namespace_selector: dict[str, str] = field(default_factory=dict)
    cluster_domain: str = "cluster.local"
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    # From other concerns, through the composition in stacks/: containers and
    # volumes for the data pods (the backup sidecar), and annotations of the
    # pods' ServiceAccount (the IRSA role that lets the sidecar upload).
    pod_additions: PodAdditions = field(default_factory=PodAdditions)
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    # An autoscaler owns the data StatefulSet's replica count (stacks/redis.py).
    replicas_autoscaled: bool = False
    # TLS on every connection of the deployment (docs/security.md "TLS"); None: plain TCP.
    tls: TlsArgs | None = None
    # ACL users (cluster mode): the app user's rights from config.
    acl: AclSpec = field(default_factory=AclSpec)


def redis_conf_spec(args: RedisCommonArgs, replicas_per_master: int, **mode: Any) -> RedisConfSpec:
    """redis.conf as both modes derive it from their common args; ``mode`` adds
    what only one mode sets (the cluster-* directives)."""
    persistent = args.persistence_enabled
    return RedisConfSpec(
        maxmemory_bytes=maxmemory_bytes(args.memory_bytes, args.maxmemory_fraction),
        maxmemory_policy=args.maxmemory_policy,
        repl_backlog_bytes=repl_backlog_bytes(args.memory_bytes),
        min_replicas_to_write=args.min_replicas_to_write,
        min_replicas_max_lag=args.min_replicas_max_lag,
        replicas_per_master=replicas_per_master,
        appendonly=persistent,
        appendfsync=args.appendfsync,
        save_rules=args.save_rules if persistent else (),
        tls=TlsFiles() if args.tls else None,
        acl_users=True,
        **mode,
    )


def mode_annotations(mode: str, replicas_per_master: int) -> dict[str, str]:
    """On the data StatefulSet itself (not its pods, so no roll): what the
    policy pack's durability rule reads."""
    return {"redis-platform/mode": mode, "redis-platform/replicas-per-master": str(replicas_per_master)}


def password_secret(
    parent: pulumi.Resource, name: str, namespace: str, labels: dict[str, str], username: str | None = None,
    resource_name: str | None = None, object_name: str | None = None, password_file_uri: str | tuple[str, ...] | None = None,
) -> tuple[k8s.core.v1.Secret, pulumi.Output[str]]:
    """A generated password kept in a Secret; the value is a Pulumi secret
    everywhere. ``username`` adds the ACL user name beside it;
    ``password_file_uri`` a JSON ``{uri: password}`` (redis_exporter's password file)."""
    resource_name = resource_name or name
    password = random.RandomPassword(
        f"{resource_name}-password",
        length=32,
        # Only URL- and shell-safe characters: the password travels in redis
        # URLs and in redis.conf quoting.
        special=False,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["result"]),
    )
    data: dict[str, pulumi.Input[str]] = {PASSWORD_KEY: password.result}
    if username is not None:
        data[USERNAME_KEY] = username
    if password_file_uri is not None:
        data[EXPORTER_PASSWORD_FILE_KEY] = password.result.apply(lambda p: exporter_password_file(password_file_uri, p))
    secret = k8s.core.v1.Secret(
        f"{resource_name}-auth",
        metadata=metadata(object_name or auth_secret_name(name), namespace, labels),
        type="Opaque",
        string_data=data,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret, pulumi.Output.secret(password.result)


def user_secrets(
    parent: pulumi.Resource, name: str, namespace: str, labels: dict[str, str], acl: AclSpec, exporter_uri: str | tuple[str, ...]
) -> dict[str, tuple[k8s.core.v1.Secret, pulumi.Output[str]]]:
    """One generated password and Secret per ACL user. The app user keeps the
    deployment's first password and Secret (same resource names, so an
    existing stack keeps them); each internal user gets ``<name>-acl-<user>``."""
    out = {}
    for role in acl.roles:
        if role == APP:
            out[role] = password_secret(parent, name, namespace, labels, username=APP)
        else:
            out[role] = password_secret(parent, name, namespace, labels, username=role,
                                        resource_name=f"{name}/{role}", object_name=secret_name(name, role),
                                        password_file_uri=exporter_uri if role == EXPORTER else None)
    return out


def config_map(
    parent: pulumi.Resource, resource_name: str, name: str, namespace: str, labels: dict[str, str], data: dict[str, str]
) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        resource_name,
        metadata=metadata(name, namespace, labels),
        data=data,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def certificate(parent: pulumi.Resource, args: RedisCommonArgs, labels: dict[str, str],
                headless_services: tuple[str, ...], services: tuple[str, ...]) -> k8s.apiextensions.CustomResource | None:
    """The deployment's cert-manager Certificate (TLS on only); cert-manager
    writes its Secret, which the pods mount."""
    if args.tls is None:
        return None
    return k8s.apiextensions.CustomResource(
        f"{args.name}-certificate",
        api_version=CERT_MANAGER_API,
        kind="Certificate",
        metadata=metadata(args.tls.secret_name, args.namespace, labels),
        spec=certificate_spec(args.tls, args.namespace, args.cluster_domain, headless_services, services, labels),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def acl_volume(deployment: str, roles: tuple[str, ...]) -> dict[str, Any]:
    """Every ACL user's Secret projected into one directory, a file per user
    named after it; mode 0440, read by redis through the pod's fsGroup."""
    return {"name": "acl-users", "projected": {"defaultMode": 0o440, "sources": [
        {"secret": {"name": secret_name(deployment, role), "items": [{"key": PASSWORD_KEY, "path": role}]}}
        for role in roles]}}
