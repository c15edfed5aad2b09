"""The stack's object store as the aws CLI reaches it: one bucket, endpoint
and credentials for the Redis backups and the monitoring servers' backups,
a prefix each.

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.k8s import secret_env
from components.common.network_policy import object_store_egress


@dataclass(frozen=True)
class S3Compatible:
    """What an S3-compatible store (MinIO, Ceph RGW) adds, always together:
    its endpoint, and the Secret with the access keys. AWS needs neither
    (the regional endpoint; IRSA instead of keys)."""

    endpoint: str
    credentials_secret: str
    access_key_id_key: str = "accessKeyId"
    secret_access_key_key: str = "secretAccessKey"


@dataclass(frozen=True)
class ObjectStore:
    """One prefix of the stack's bucket, as the pods' aws CLI reaches it
    (``env()``) and as their NetworkPolicy lets them out to it (``egress()``)."""

    bucket: str
    prefix: str
    region: str
    aws_cli_image: str
    compatible: S3Compatible | None = None

    @property
    def endpoint(self) -> str | None:
        return self.compatible.endpoint if self.compatible else None

    def env(self) -> list[dict[str, Any]]:
        out = [
            {"name": "BUCKET", "value": self.bucket},
            {"name": "PREFIX", "value": self.prefix},
            {"name": "AWS_REGION", "value": self.region},
            {"name": "AWS_DEFAULT_REGION", "value": self.region},
            {"name": "HOME", "value": "/tmp"},
        ]
        if c := self.compatible:
            # Optional: the uploaders are sidecars of the Redis data pods and
            # of Prometheus and Grafana, and a missing Secret must not keep the
            # server from starting. The scripts log the missing Secret by name
            # and the upload fails visibly (its failure metric and alert).
            out += [
                {"name": "S3_ENDPOINT", "value": c.endpoint},
                {"name": "CREDENTIALS_SECRET", "value": c.credentials_secret},
                secret_env("AWS_ACCESS_KEY_ID", c.credentials_secret, c.access_key_id_key, optional=True),
                secret_env("AWS_SECRET_ACCESS_KEY", c.credentials_secret, c.secret_access_key_key, optional=True),
            ]
        return out

    def egress(self) -> dict[str, Any]:
        return object_store_egress(self.endpoint)

