"""The EKS cluster's IAM OIDC provider, as the config names it: by its ARN.
The EBS storage and the AWS backups both need it for their IRSA roles."""

from __future__ import annotations

import re
from typing import Annotated

from components.common.iam import OidcProvider
from stacks.config.base import matching

_OIDC_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/(.+)$")

OidcProviderArn = Annotated[str, matching(
    _OIDC_ARN, "an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)")]


def oidc_provider(arn: str) -> OidcProvider:
    """The provider of a validated ARN; its issuer (the trust policy's
    condition key prefix) is the ARN's path."""
    match = _OIDC_ARN.match(arn)
    assert match  # OidcProviderArn validated it
    return OidcProvider(arn, match.group(1))
