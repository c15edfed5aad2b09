"""RedisOps: per deployment, the ops scripts' ConfigMap, a ServiceAccount,
the backup CronJob, the restore and failover-drill templates (suspended
CronJobs) and, during a node-group migration, the Job of the current step."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import metadata, selector_of
from components.common.network_policy import OBJECT_STORAGE_LABEL, PUSHER_LABEL, namespace_peer, peer_egress, policy_spec, rule, tcp
from components.common.redis_contract import REDIS_PORT, SENTINEL_PORT, peer_selector
from components.operations import scripts
from components.operations.backup import BackupReport, backup_cronjob_spec
from components.operations.drill import drill_cronjob_spec
from components.operations.migration import MigrationStep, migration_job_name, migration_job_spec
from components.operations.restore import restore_cronjob_spec
from components.common.object_store import ObjectStore
from components.operations.target import OpsTarget


@dataclass(frozen=True)
class RedisOpsArgs:
    namespace: str
    target: OpsTarget
    store: ObjectStore | None = None
    schedule: str = "0 3 * * *"
    service_account_annotations: dict[str, str] | None = None
    migration: MigrationStep | None = None
    # Where the backup run reports its outcome; None: no Pushgateway.
    report: BackupReport | None = None


def ops_names(deployment: str) -> dict[str, str]:
    return {
        "configMap": f"{deployment}-ops",
        "serviceAccount": f"{deployment}-ops",
        "backup": f"{deployment}-backup",
        "restore": f"{deployment}-restore",
        "drill": f"{deployment}-failover-drill",
    }


def migration_job(name: str, namespace: str, target: OpsTarget, step: MigrationStep,
                  opts: pulumi.ResourceOptions) -> str:
    """Create the Job of one migration step (run by the ops ServiceAccount
    with the ops scripts' ConfigMap); returns "job/<name>"."""
    job = migration_job_name(target.deployment, step)
    k8s.batch.v1.Job(
        f"{name}-{job}", metadata=metadata(job, namespace, target.labels),
        spec=migration_job_spec(target, step, ops_names(target.deployment)["serviceAccount"]),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
    )
    return f"job/{job}"


class RedisOps(pulumi.ComponentResource):
    outputs: dict

    def __init__(self, name: str, args: RedisOpsArgs, opts: pulumi.ResourceOptions | None = None):
        # The token keeps the package's old name: a new one would change every
        # child's URN, and the engine would replace the CronJobs.
        super().__init__("redis-platform:ops:RedisOps", name, None, opts)
        t, ns = args.target, args.namespace
        names = ops_names(t.deployment)
        child = pulumi.ResourceOptions(parent=self)
        cm = k8s.core.v1.ConfigMap(f"{name}-ops-scripts", metadata=metadata(names["configMap"], ns, t.labels),
                                   data=scripts.ops_scripts(), opts=child)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-ops-sa", metadata=metadata(names["serviceAccount"], ns, t.labels, args.service_account_annotations or None),
            automount_service_account_token=False, opts=child,
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[cm, sa])
        ops_selector = selector_of(t.labels)
        # Ops pods serve nothing; they reach the deployment's nodes (and
        # Sentinels, and HAProxy's write port, which is 6379 too).
        ports = (REDIS_PORT,) if t.mode == "cluster" else (REDIS_PORT, SENTINEL_PORT)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol", metadata=metadata(names["serviceAccount"], ns, t.labels),
            spec=policy_spec(ops_selector, [], [peer_egress(peer_selector(t.deployment), ports)]), opts=child,
        )
        if args.store is not None:
            # Only the backup and restore pods carry the label: the drill and
            # the migration never reach the object store.
            k8s.networking.v1.NetworkPolicy(
                f"{name}-object-storage-netpol", metadata=metadata(f"{names['serviceAccount']}-object-storage", ns, t.labels),
                spec=policy_spec(ops_selector | {OBJECT_STORAGE_LABEL: "true"}, [], [args.store.egress()]), opts=child,
            )
        if args.store is not None and args.report is not None:
            r = args.report
            k8s.networking.v1.NetworkPolicy(
                f"{name}-metrics-push-netpol", metadata=metadata(f"{names['serviceAccount']}-metrics-push", ns, t.labels),
                spec=policy_spec(ops_selector | {PUSHER_LABEL: "true"}, [],
                                 [rule("egress", [namespace_peer(r.pushgateway_namespace, r.pushgateway_selector)], tcp(r.port))]),
                opts=child,
            )
        sa_name = names["serviceAccount"]
        self.outputs = {"failoverDrill": f"cronjob/{names['drill']}"}
        k8s.batch.v1.CronJob(f"{name}-failover-drill", metadata=metadata(names["drill"], ns, t.labels),
                             spec=drill_cronjob_spec(t, sa_name), opts=after)
        if args.store is not None:
            k8s.batch.v1.CronJob(f"{name}-backup", metadata=metadata(names["backup"], ns, t.labels),
                                 spec=backup_cronjob_spec(t, args.store, args.schedule, sa_name, args.report), opts=after)
            k8s.batch.v1.CronJob(f"{name}-restore", metadata=metadata(names["restore"], ns, t.labels),
                                 spec=restore_cronjob_spec(t, args.store, sa_name), opts=after)
            self.outputs |= {"backupCronJob": f"cronjob/{names['backup']}", "restoreTemplate": f"cronjob/{names['restore']}",
                             "backupSchedule": args.schedule}
        if args.migration is not None:
            self.outputs["migrationJob"] = migration_job(name, ns, t, args.migration,
                                                         pulumi.ResourceOptions(parent=self, depends_on=[cm, sa]))
        self.register_outputs(self.outputs)
