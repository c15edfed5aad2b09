"""The per-environment backup bucket on AWS and the IRSA role that the
backup and Redis ServiceAccounts assume to write to it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class BackupBucketArgs:
    bucket_name: str
    environment: str
    oidc_provider_arn: str
    oidc_issuer: str
    # "namespace/serviceaccount" pairs allowed to assume the role.
    service_accounts: tuple[str, ...]
    prefix: str
    expire_days: int
    noncurrent_expire_days: int
    kms_key_id: str | None = None


def trust_policy(args: BackupBucketArgs) -> str:
    """IRSA: only the named ServiceAccounts, through the cluster's OIDC provider."""
    subjects = sorted(f"system:serviceaccount:{ns_sa.replace('/', ':')}" for ns_sa in args.service_accounts)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": args.oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{args.oidc_issuer}:sub": subjects, f"{args.oidc_issuer}:aud": "sts.amazonaws.com"}},
        }],
    }, sort_keys=True)


def access_policy(bucket_arn: str, prefix: str, kms_key_id: str | None) -> str:
    """Read and write objects under the prefix, list the bucket; no delete
    (expiry is the lifecycle rule's job, so a stolen token cannot wipe backups)."""
    statements = [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}}},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
         "Resource": f"{bucket_arn}/{prefix}/*"},
    ]
    if kms_key_id:
        statements.append({"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": kms_key_id})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class BackupBucket(pulumi.ComponentResource):
    bucket: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None):
        # Token as before the move to components/operations/: a new one would
        # change the URNs, and the engine would replace the bucket.
        super().__init__("redis-platform:backup:BackupBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"managed-by": "redis-platform", "environment": args.environment, "purpose": "redis-backups"}
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, tags=tags,
                               opts=pulumi.ResourceOptions(parent=self, protect=False))
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child,
        )
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        default = {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_id} if args.kms_key_id else {"sse_algorithm": "AES256"}
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": True}], opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[{
                "id": "expire-redis-backups",
                "status": "Enabled",
                "filter": {"prefix": f"{args.prefix}/"},
                "expiration": {"days": args.expire_days},
                "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_expire_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }],
            opts=child,
        )
        role = aws.iam.Role(f"{name}-role", assume_role_policy=trust_policy(args),
                            description=f"IRSA role of the Redis backup ServiceAccounts ({args.environment})", tags=tags, opts=child)
        aws.iam.RolePolicy(f"{name}-access", role=role.id,
                           policy=bucket.arn.apply(lambda arn: access_policy(arn, args.prefix, args.kms_key_id)), opts=child)
        self.bucket = bucket.bucket
        self.role_arn = role.arn
        self.register_outputs({"bucket": self.bucket, "role_arn": self.role_arn})
