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
class ObjectStore:
    bucket: str
    prefix: str
    region: str
    aws_cli_image: str
    endpoint: str | None = None
    credentials_secret: str | None = None
    access_key_id_key: str = "accessKeyId"
    secret_access_key_key: str = "secretAccessKey"

    def env(self) -> list[dict[str, Any]]:
        out = [
            {"name": "BUCKET", "value": self.bucket},
            {"name": "PREFIX", "value": self.prefix},
            {"name": "AWS_REGION", "value": self.region},
            {"name": "AWS_DEFAULT_REGION", "value": self.region},
            {"name": "HOME", "value": "/tmp"},
        ]
        if self.endpoint:
            out.append({"name": "S3_ENDPOINT", "value": self.endpoint})
        if self.credentials_secret:
            # Optional: the uploaders are sidecars of the Redis data pods and
            # of Prometheus and Grafana, and a missing Secret must not keep the
            # server from starting. The scripts log the missing Secret by name
            # and the upload fails visibly (its failure metric and alert).
            out += [
                {"name": "CREDENTIALS_SECRET", "value": self.credentials_secret},
                secret_env("AWS_ACCESS_KEY_ID", self.credentials_secret, self.access_key_id_key, optional=True),
                secret_env("AWS_SECRET_ACCESS_KEY", self.credentials_secret, self.secret_access_key_key, optional=True),
            ]
        return out

    def egress(self) -> dict[str, Any]:
        return object_store_egress(self.endpoint)

