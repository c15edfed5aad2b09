"""Storage choice: NFS provisioner, EBS gp3 through the EBS CSI driver, or an existing class."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from components.common.iam import OidcProvider
from stacks.config.base import DnsLabel, StrictModel
from stacks.config.images import ImageRef
from stacks.config.irsa import OidcProviderArn, oidc_provider

NFS_PROVISIONER_IMAGE = "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2"


class NfsStorage(StrictModel):
    """nfs-subdir-external-provisioner. Redis upstream does not support NFS for
    persistence (fsync semantics and locking); use it for labs and dev only."""

    kind: Literal["nfs"]
    server: str = Field(min_length=1)
    path: str
    storage_class_name: DnsLabel = "nfs-client"
    provisioner_image: ImageRef = NFS_PROVISIONER_IMAGE
    namespace: DnsLabel = "nfs-provisioner"
    reclaim_policy: Literal["Delete", "Retain"] = "Retain"
    archive_on_delete: bool = True
    mount_options: tuple[str, ...] = ("nfsvers=4.1", "hard")
    default_class: bool = False

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must be an absolute export path such as /storage/redis-vol")
        return value


class EbsStorage(StrictModel):
    """EBS gp3 volumes on EKS through the aws-ebs-csi-driver add-on (IRSA)."""

    kind: Literal["ebs"]
    eks_cluster_name: str = Field(min_length=1)
    oidc_provider_arn: OidcProviderArn
    # Redis data volumes: gp3 with the iops and throughput below.
    storage_class_name: DnsLabel = "gp3"
    # Monitoring volumes: gp3 at its baseline (3000 IOPS, 125 MiB/s), valid at
    # any size; the tuned class's IOPS need volumes of at least iops/500 GiB.
    baseline_storage_class_name: DnsLabel = "gp3-baseline"
    addon_version: str | None = None
    iops: int = Field(default=3000, ge=3000, le=80000)
    throughput: int = Field(default=125, ge=125, le=2000)
    fs_type: Literal["ext4", "xfs"] = "xfs"
    kms_key_id: str | None = None
    reclaim_policy: Literal["Delete", "Retain"] = "Retain"
    default_class: bool = False

    @model_validator(mode="after")
    def _throughput_fits_iops(self) -> "EbsStorage":
        # gp3 allows at most 0.25 MiB/s of throughput per provisioned IOPS.
        if self.throughput > self.iops // 4:
            raise ValueError(f"throughput {self.throughput} MiB/s needs at least {self.throughput * 4} iops (gp3 allows 0.25 MiB/s per IOPS)")
        if self.baseline_storage_class_name == self.storage_class_name:
            raise ValueError(f"baselineStorageClassName and storageClassName are both {self.storage_class_name!r}; they are two classes")
        return self

    @property
    def oidc(self) -> OidcProvider:
        return oidc_provider(self.oidc_provider_arn)


class ExistingStorage(StrictModel):
    """A StorageClass that already exists in the cluster."""

    kind: Literal["existing"]
    storage_class_name: DnsLabel


StorageConfig = Annotated[Union[NfsStorage, EbsStorage, ExistingStorage], Field(discriminator="kind")]
