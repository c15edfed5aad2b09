"""IAM policy documents the AWS components write: JSON with sorted keys, so
that an unchanged policy renders the same text and Pulumi sees no change."""

from __future__ import annotations

import json
from typing import Any


def policy_document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, subjects: str | list[str]) -> str:
    """IRSA: only these ServiceAccounts (``system:serviceaccount:<ns>:<name>``),
    through the cluster's OIDC provider."""
    return policy_document([{
        "Effect": "Allow",
        "Principal": {"Federated": oidc_provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{oidc_issuer}:sub": subjects, f"{oidc_issuer}:aud": "sts.amazonaws.com"}},
    }])


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
