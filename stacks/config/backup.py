"""Backups to object storage: an AWS bucket (EKS, IRSA) or an S3-compatible
endpoint (on-prem, credentials from a Secret), and what runs on it."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, SecretStr, field_validator, model_validator

from components.common.iam import OidcProvider
from stacks.config.base import DnsLabel, StrictModel
from stacks.config.cron import check_schedule
from stacks.config.images import ImageRef
from stacks.config.irsa import OidcProviderArn, oidc_provider

AWS_CLI_IMAGE = "amazon/aws-cli:2.17.50"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_bucket(value: str) -> str:
    if not _BUCKET.match(value):
        raise ValueError(f"{value!r} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')")
    return value


Schedule = Annotated[str, Field(min_length=1)]


class _Common(StrictModel):
    enabled: bool = True
    # Default schedule of every deployment's backup CronJob (UTC).
    schedule: Schedule = "0 3 * * *"
    # Key prefix in the bucket: <prefix>/<deployment>/<YYYY-MM-DD>/<backup id>/.
    prefix: str = "redis"
    aws_cli_image: ImageRef = AWS_CLI_IMAGE
    # The data pods upload their persistence files when they stop (seed).
    pre_stop_upload: bool = True
    # Seconds the preStop upload may take, added to the pods' grace period.
    pre_stop_upload_seconds: int = Field(default=60, ge=10, le=600)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError(f"{value!r}: no leading, trailing or doubled '/'")
        return value


class AwsBackup(_Common):
    """A bucket this stack creates (versioned, encrypted, private, expiring)
    and an IAM role the backup ServiceAccounts assume through IRSA."""

    kind: Literal["aws"]
    bucket_name: str
    region: str = Field(min_length=1)
    oidc_provider_arn: OidcProviderArn
    expire_days: int = Field(default=30, ge=1, le=3650)
    noncurrent_expire_days: int = Field(default=7, ge=1, le=3650)
    kms_key_id: str | None = None

    _bucket = field_validator("bucket_name")(classmethod(lambda cls, v: check_bucket(v)))

    @property
    def oidc(self) -> OidcProvider:
        return oidc_provider(self.oidc_provider_arn)


class S3CompatibleBackup(_Common):
    """An existing bucket on an S3-compatible store (MinIO, Ceph RGW, ...);
    the access keys are in a Secret of each Redis namespace."""

    kind: Literal["s3"]
    endpoint: str
    bucket_name: str
    credentials_secret: DnsLabel
    access_key_id_key: str = "accessKeyId"
    secret_access_key_key: str = "secretAccessKey"
    region: str = "us-east-1"
    # The keys themselves (the secret one with `pulumi config set --secret`):
    # the program then makes credentialsSecret in every namespace that needs
    # it. Without them that Secret is made by hand; until it exists backups
    # fail with a log line naming it, and Redis runs regardless.
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None

    @model_validator(mode="after")
    def _both_keys(self) -> "S3CompatibleBackup":
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set accessKeyId and secretAccessKey together (or neither, with a Secret made by hand)")
        return self

    _bucket = field_validator("bucket_name")(classmethod(lambda cls, v: check_bucket(v)))

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/.*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class NoBackup(StrictModel):
    kind: Literal["none"] = "none"
    enabled: Literal[False] = False


BackupConfig = Annotated[Union[AwsBackup, S3CompatibleBackup, NoBackup], Field(discriminator="kind")]
