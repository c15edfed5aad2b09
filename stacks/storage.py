"""Composition: the stack's storage choice -> the storage component (or an existing class).

Which class a claim uses is decided in config (``stacks.config.volumes``),
where the per-claim storage rules are checked against the same choice."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.storage.ebs import EbsCsiStorage, EbsCsiStorageArgs
from components.storage.nfs import NfsProvisioner, NfsProvisionerArgs
from stacks.config import StackConfig
from stacks.config.storage import EbsStorage, NfsStorage
from stacks.config.volumes import class_for


@dataclass(frozen=True)
class StorageResult:
    # Redis data volumes.
    storage_class_name: str
    # Monitoring volumes.
    general_class_name: str
    # The resource PVC owners should depend on (None for an existing class).
    resource: pulumi.Resource | None


def build_storage(stack: StackConfig) -> StorageResult:
    cfg = stack.storage
    classes = (class_for(stack, "data"), class_for(stack, "general"))
    if isinstance(cfg, NfsStorage):
        res = NfsProvisioner(
            "nfs",
            NfsProvisionerArgs(
                namespace=cfg.namespace,
                server=cfg.server,
                path=cfg.path,
                storage_class_name=cfg.storage_class_name,
                image=cfg.provisioner_image,
                reclaim_policy=cfg.reclaim_policy,
                archive_on_delete=cfg.archive_on_delete,
                mount_options=cfg.mount_options,
                default_class=cfg.default_class,
            ),
        )
        return StorageResult(*classes, res)
    if isinstance(cfg, EbsStorage):
        res = EbsCsiStorage(
            "ebs",
            EbsCsiStorageArgs(
                eks_cluster_name=cfg.eks_cluster_name,
                oidc_provider_arn=cfg.oidc_provider_arn,
                oidc_issuer=cfg.oidc_issuer,
                storage_class_name=cfg.storage_class_name,
                baseline_class_name=cfg.baseline_storage_class_name,
                iops=cfg.iops,
                throughput=cfg.throughput,
                fs_type=cfg.fs_type,
                reclaim_policy=cfg.reclaim_policy,
                default_class=cfg.default_class,
                addon_version=cfg.addon_version,
                kms_key_id=cfg.kms_key_id,
            ),
        )
        return StorageResult(*classes, res)
    return StorageResult(*classes, None)
