"""The per-environment backup bucket on AWS (TLS only, SSE-KMS with a key
from config or SSE-S3) and, per deployment, the IRSA roles its ops and data
pods assume: each limited to the deployment's own prefix."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.common.iam import (OidcProvider, aws_tags, kms_statement, policy_document, prefix_list_statement,
                                   prefix_objects_statement, service_account_subject)


@dataclass(frozen=True)
class DeploymentAccess:
    """One deployment's two IRSA roles: its ops ServiceAccount (backup and
    restore Jobs: write, read, list its own prefix) and its data pods'
    ServiceAccount (the preStop uploader: write only)."""

    deployment: str
    namespace: str
    ops_service_account: str
    data_service_account: str


@dataclass(frozen=True)
class BackupBucketArgs:
    bucket_name: str
    environment: str
    oidc: OidcProvider
    deployments: tuple[DeploymentAccess, ...]
    prefix: str
    expire_days: int
    noncurrent_expire_days: int
    kms_key_id: str | None = None


def deployment_prefix(prefix: str, deployment: str) -> str:
    """Where one deployment's backups live; the scripts write <prefix>/<deployment>/..."""
    return f"{prefix}/{deployment}"


def access_policy(bucket_arn: str, prefix: str, kms_key_id: str | None, write_only: bool = False) -> str:
    """Objects under ``prefix`` (one deployment's) only. No delete for
    anyone: expiry is the lifecycle rule's job, so a stolen token cannot
    wipe backups. ``write_only`` (the data pods' preStop uploader): no read,
    no list either, so a compromised Redis pod cannot read old backups."""
    objects = ["s3:PutObject", "s3:AbortMultipartUpload"] + ([] if write_only else ["s3:GetObject"])
    statements = [prefix_objects_statement(bucket_arn, prefix, objects)]
    if not write_only:
        statements.append(prefix_list_statement(bucket_arn, prefix))
    if kms_key_id:
        statements.append(kms_statement(kms_key_id))
    return policy_document(statements)


def bucket_policy(bucket_arn: str, kms_key_id: str | None) -> str:
    """Refuse plain HTTP for everyone; with a KMS key, refuse uploads that
    ask for another encryption than the bucket's key."""
    statements: list[dict] = [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    if kms_key_id:
        statements.append({
            "Sid": "DenyOtherEncryption", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        })
    return policy_document(statements)


class BackupBucket(pulumi.ComponentResource):
    """The bucket with its guards (no public access, versioning, encryption,
    expiry, TLS only), then two roles per backed-up deployment."""

    bucket: pulumi.Output[str]

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None):
        # Token as before the move to components/operations/: a new one would
        # change the URNs, and the engine would replace the bucket.
        super().__init__("redis-platform:backup:BackupBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = aws_tags({"environment": args.environment, "purpose": "redis-backups"})
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
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id,
                            policy=bucket.arn.apply(lambda arn: bucket_policy(arn, args.kms_key_id)), opts=child)
        # deployment -> {"ops": arn, "data": arn}
        self.role_arns: dict[str, dict[str, pulumi.Output[str]]] = {}
        for dep in args.deployments:
            prefix = deployment_prefix(args.prefix, dep.deployment)
            arns = {}
            for kind, sa, write_only in (("ops", dep.ops_service_account, False), ("data", dep.data_service_account, True)):
                role = aws.iam.Role(
                    f"{name}-{dep.deployment}-{kind}-role",
                    assume_role_policy=args.oidc.trust_policy(service_account_subject(dep.namespace, sa)),
                    description=f"IRSA role of {dep.namespace}/{sa}: Redis backups under {prefix}/ ({args.environment})",
                    tags=tags, opts=child,
                )
                aws.iam.RolePolicy(
                    f"{name}-{dep.deployment}-{kind}-access", role=role.id,
                    policy=bucket.arn.apply(lambda arn, p=prefix, w=write_only: access_policy(arn, p, args.kms_key_id, w)),
                    opts=child,
                )
                arns[kind] = role.arn
            self.role_arns[dep.deployment] = arns
        self.bucket = bucket.bucket
        self.register_outputs({"bucket": self.bucket, "role_arns": self.role_arns})
