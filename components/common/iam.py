"""IAM policy documents the AWS components write: JSON with sorted keys, so
that an unchanged policy renders the same text and Pulumi sees no change."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


def policy_document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


@dataclass(frozen=True)
class OidcProvider:
    """The EKS cluster's IAM OIDC provider: its ARN, and its issuer URL
    without the scheme. A role trusts it to let ServiceAccounts assume the
    role (IRSA)."""

    arn: str
    issuer: str

    @property
    def partition(self) -> str:
        """aws, aws-cn or aws-us-gov: the cluster's partition, which every
        ARN the roles name shares."""
        found = re.match(r"^arn:(aws[a-z-]*):", self.arn)
        return found.group(1) if found else "aws"

    def trust_policy(self, subjects: str | list[str]) -> str:
        """Only these ServiceAccounts (``system:serviceaccount:<ns>:<name>``)."""
        return policy_document([{
            "Effect": "Allow",
            "Principal": {"Federated": self.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{self.issuer}:sub": subjects, f"{self.issuer}:aud": "sts.amazonaws.com"}},
        }])


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def prefix_list_statement(bucket_arn: str, prefix: str) -> dict[str, Any]:
    """Listing the bucket, under ``prefix`` only."""
    return {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}}}


def prefix_objects_statement(bucket_arn: str, prefix: str, actions: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": f"{bucket_arn}/{prefix}/*"}


def kms_statement(kms_key_id: str) -> dict[str, Any]:
    # Decrypt too: a multipart upload to an SSE-KMS bucket needs it.
    return {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": kms_key_id}


def aws_tags(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every AWS resource the program makes says so."""
    return {"managed-by": "redis-platform", **(extra or {})}
