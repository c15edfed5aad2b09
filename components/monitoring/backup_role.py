"""The monitoring pods' own IAM role (IRSA) on AWS: the backup sidecars of
Prometheus and Grafana may list, read and write under the monitoring prefix of
the stack's backup bucket, and nothing else. A role of its own, not the Redis
backups' role, so neither set of pods can touch the other's backups.

The bucket is the one the backup section names (created by the operations
composition); its ARN follows from its name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.common.iam import (OidcProvider, aws_tags, kms_statement, policy_document, prefix_list_statement,
                                   prefix_objects_statement, service_account_subject)


@dataclass(frozen=True)
class MonitoringBackupRoleArgs:
    bucket_name: str
    prefix: str
    environment: str
    oidc: OidcProvider
    # "namespace/serviceaccount" of the pods with a backup sidecar.
    service_accounts: tuple[str, ...]
    kms_key_id: str | None = None


def trust_policy(args: MonitoringBackupRoleArgs) -> str:
    return args.oidc.trust_policy(sorted(service_account_subject(*ns_sa.split("/", 1)) for ns_sa in args.service_accounts))


def access_policy(args: MonitoringBackupRoleArgs) -> str:
    """Under the monitoring prefix only; no delete (expiry is the bucket's job)."""
    arn = f"arn:{args.oidc.partition}:s3:::{args.bucket_name}"
    statements = [
        prefix_list_statement(arn, args.prefix),
        prefix_objects_statement(arn, args.prefix, ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]),
    ]
    if args.kms_key_id:
        statements.append(kms_statement(args.kms_key_id))
    return policy_document(statements)


class MonitoringBackupRole(pulumi.ComponentResource):
    """One IAM role for every monitoring server with a backup sidecar; its
    ARN goes on their ServiceAccounts (the IRSA annotation)."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringBackupRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:monitoring:MonitoringBackupRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = aws_tags({"environment": args.environment, "purpose": "monitoring-backups"})
        role = aws.iam.Role(f"{name}-role", assume_role_policy=trust_policy(args),
                            description=f"IRSA role of the monitoring backup sidecars ({args.environment})", tags=tags, opts=child)
        aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=access_policy(args), opts=child)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})
