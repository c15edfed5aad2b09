"""Composition: the stack's storage choice -> the storage component (or an existing class).

Which class a claim uses is decided in config (``stacks.config.volumes``),
where the per-claim storage rules are checked against the same choice."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.common.args import args_from
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
        res = NfsProvisioner("nfs", args_from(cfg, NfsProvisionerArgs, image=cfg.provisioner_image))
        return StorageResult(*classes, res)
    if isinstance(cfg, EbsStorage):
        res = EbsCsiStorage("ebs", args_from(cfg, EbsCsiStorageArgs, baseline_class_name=cfg.baseline_storage_class_name))
        return StorageResult(*classes, res)
    return StorageResult(*classes, None)
