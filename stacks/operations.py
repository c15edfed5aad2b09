"""Composition of day-2 operations: the backup section -> the bucket and IRSA
role (AWS) or the S3-compatible store (on-prem); per deployment the RedisOps
component, and the backup sidecar handed to the Redis components as generic
pod additions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import labels, metadata, selector_labels
from components.monitoring import labels as monitoring_labels
from components.common.redis_contract import auth_secret_name
from components.common.tls import tls_secret_name
from components.operations.backup_agent import BackupAgent
from components.operations.bucket import BackupBucket, BackupBucketArgs, DeploymentAccess
from components.operations.migration import MigrationStep
from components.operations.backup import BackupReport
from components.operations.redis_ops import RedisOps, RedisOpsArgs, ops_names
from components.common.object_store import ObjectStore
from components.operations.target import OpsTarget
from components.redis.cluster import RedisClusterArgs, generation_hosts
from components.redis.pod import PodAdditions
from components.redis.sentinel_scripts import REDIS_PRESTOP
from stacks.config import StackConfig
from stacks.config.backup import AwsBackup, S3CompatibleBackup
from stacks.config.quantities import memory_bytes
from stacks.object_store import object_store_for
from stacks.config.redis import RedisDeployment

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# Seconds the Sentinel handover may take before the sidecar uploads
# (components/redis/sentinel.py PRESTOP_TIMEOUT, plus slack).
HANDOVER_WAIT = 50


@dataclass(frozen=True)
class BackupContext:
    store: ObjectStore
    schedule: str
    pre_stop_upload: bool
    pre_stop_seconds: int
    # deployment -> {"ops": role ARN, "data": role ARN} (AWS only)
    role_arns: dict[str, dict[str, Any]] | None = None

    def annotations(self, deployment: str, kind: str) -> dict[str, Any]:
        """The IRSA annotation of a deployment's ops or data ServiceAccount."""
        arn = (self.role_arns or {}).get(deployment, {}).get(kind)
        return {IRSA_ANNOTATION: arn} if arn is not None else {}


def build_backup(cfg: StackConfig) -> BackupContext | None:
    b = cfg.backup
    if not isinstance(b, (AwsBackup, S3CompatibleBackup)) or not b.enabled:
        return None
    store = object_store_for(b, b.prefix)
    common = dict(schedule=b.schedule, pre_stop_upload=b.pre_stop_upload, pre_stop_seconds=b.pre_stop_upload_seconds)
    if isinstance(b, S3CompatibleBackup):
        credentials_secrets(cfg, b)
        return BackupContext(store=store, **common)
    # The data pods' ServiceAccount is named after the deployment (components/redis).
    access = tuple(
        DeploymentAccess(dep.name, cfg.namespace_of(dep), ops_names(dep.name)["serviceAccount"], dep.name)
        for dep in cfg.deployments if dep.backup.enabled
    )
    bucket = BackupBucket("backup", BackupBucketArgs(
        bucket_name=b.bucket_name, environment=cfg.environment, oidc=b.oidc, deployments=access, prefix=b.prefix,
        expire_days=b.expire_days, noncurrent_expire_days=b.noncurrent_expire_days, kms_key_id=b.kms_key_id,
    ))
    return BackupContext(store=store, role_arns=bucket.role_arns, **common)


def credentials_secrets(cfg: StackConfig, b: S3CompatibleBackup) -> None:
    """The object store's keys from config, as the Secret the pods read, in
    every namespace with a backed-up deployment. Without them the Secret is
    made by hand; the pods reference it as optional and log its absence."""
    namespaces = sorted({cfg.namespace_of(d) for d in cfg.deployments if d.backup.enabled})
    if b.secret_access_key is None:
        return
    for ns in namespaces:
        k8s.core.v1.Secret(
            f"{ns}-{b.credentials_secret}",
            metadata=metadata(b.credentials_secret, ns, labels("redis-backup", cfg.environment, "credentials")),
            type="Opaque",
            string_data={b.access_key_id_key: pulumi.Output.secret(b.access_key_id),
                         b.secret_access_key_key: pulumi.Output.secret(b.secret_access_key.get_secret_value())},
        )


def backup_pod_additions(ctx: BackupContext | None, dep: RedisDeployment) -> PodAdditions:
    """The backup sidecar as the Redis components take it: they add its
    container and volumes, signal it when their own preStop is over, and
    grow the grace period by its budget."""
    if ctx is None or not ctx.pre_stop_upload or not dep.backup.enabled:
        return PodAdditions()
    # Both modes hand a master over in preStop before the upload starts.
    wait = HANDOVER_WAIT
    agent = BackupAgent(store=ctx.store, deployment=dep.name, config_map=ops_names(dep.name)["configMap"],
                        budget_seconds=wait + ctx.pre_stop_seconds, handover_wait=wait)
    return PodAdditions(containers=(agent.container(),), volumes=tuple(agent.volumes()), redis_mounts=tuple(agent.redis_mounts()),
                        pre_stop_signal=agent.handover_signal(), grace_seconds=agent.budget_seconds,
                        egress=(ctx.store.egress(),))


def _scratch(dep: RedisDeployment) -> str:
    """Room for one snapshot of every master (an RDB is at most about its maxmemory)."""
    masters = dep.cluster.shards if dep.mode == "cluster" else 1
    return f"{math.ceil(memory_bytes(dep.effective_resources.memory) * masters / 2**20)}Mi"


def ops_target(cfg: StackConfig, dep: RedisDeployment, labels: dict[str, str], cluster_args: RedisClusterArgs | None) -> OpsTarget:
    ns = cfg.namespace_of(dep)
    domain = f"{ns}.svc.{cfg.cluster_domain}"
    common = dict(deployment=dep.name, mode=dep.mode, redis_image=dep.image, auth_secret=auth_secret_name(dep.name),
                  config_map=ops_names(dep.name)["configMap"], labels=labels, memory=dep.effective_resources.memory,
                  scratch_size=_scratch(dep), tls_secret=tls_secret_name(dep.name) if dep.tls.enabled else None,
                  acl_users=True)
    if cluster_args is not None:
        return OpsTarget(cluster_nodes=generation_hosts(cluster_args, dep.generation), **common)
    return OpsTarget(
        sentinel_hosts=tuple(f"{dep.name}-sentinel-{i}.{dep.name}-sentinel-headless.{domain}" for i in range(dep.sentinel.sentinels)),
        master_set=dep.sentinel.master_set, write_host=f"{dep.name}.{domain}",
        replicas=dep.sentinel.replicas, redis_config_map=f"{dep.name}-config", handover_script=REDIS_PRESTOP, **common,
    )


def build_ops(cfg: StackConfig, dep: RedisDeployment, ctx: BackupContext | None, labels: dict[str, str],
              cluster_args: RedisClusterArgs | None, migration: MigrationStep | None,
              opts: pulumi.ResourceOptions | None = None) -> dict[str, Any]:
    """The deployment's ops objects; ``migration``: the current node-group
    migration step with the old and new generation's hosts, if any."""
    with_backup = ctx is not None and dep.backup.enabled
    ops = RedisOps(f"{dep.name}-ops", RedisOpsArgs(
        namespace=cfg.namespace_of(dep),
        target=ops_target(cfg, dep, labels, cluster_args),
        store=ctx.store if with_backup else None,
        schedule=(dep.backup.schedule or ctx.schedule) if with_backup else "",
        service_account_annotations=ctx.annotations(dep.name, "ops") if with_backup else None,
        migration=migration,
        report=backup_report(cfg, dep) if with_backup else None,
    ), opts=opts)
    return ops.outputs


def backup_report(cfg: StackConfig, dep: RedisDeployment) -> BackupReport | None:
    """The stack's Pushgateway, where RedisBackupStale reads each run's outcome."""
    m = cfg.monitoring
    if not m.enabled or not m.pushgateway.enabled:
        return None
    return BackupReport(
        pushgateway_url=f"http://pushgateway.{m.namespace}.svc:{monitoring_labels.PUSHGATEWAY_PORT}",
        pushgateway_namespace=m.namespace,
        pushgateway_selector=selector_labels("pushgateway", "pushgateway", "exporter"),
        team=dep.team,
    )
