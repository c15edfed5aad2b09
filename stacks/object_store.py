"""The object store a stack's backup section describes, for the Redis
backups and the monitoring servers' backups alike (each with its prefix)."""

from __future__ import annotations

from components.common.object_store import ObjectStore
from stacks.config.backup import AwsBackup, S3CompatibleBackup


def object_store_for(b: AwsBackup | S3CompatibleBackup, prefix: str) -> ObjectStore:
    if isinstance(b, S3CompatibleBackup):
        return ObjectStore(bucket=b.bucket_name, prefix=prefix, region=b.region, aws_cli_image=b.aws_cli_image,
                           endpoint=b.endpoint, credentials_secret=b.credentials_secret,
                           access_key_id_key=b.access_key_id_key, secret_access_key_key=b.secret_access_key_key)
    return ObjectStore(bucket=b.bucket_name, prefix=prefix, region=b.region, aws_cli_image=b.aws_cli_image)
