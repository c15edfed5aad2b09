"""The object store a stack's backup section describes, for the Redis
backups and the monitoring servers' backups alike (each with its prefix)."""

from __future__ import annotations

from components.common.args import args_from
from components.common.object_store import ObjectStore, S3Compatible
from stacks.config.backup import AwsBackup, S3CompatibleBackup


def object_store_for(b: AwsBackup | S3CompatibleBackup, prefix: str) -> ObjectStore:
    compatible = args_from(b, S3Compatible) if isinstance(b, S3CompatibleBackup) else None
    return ObjectStore(bucket=b.bucket_name, prefix=prefix, region=b.region, aws_cli_image=b.aws_cli_image,
                       compatible=compatible)
