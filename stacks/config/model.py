"""The whole stack config, as read from Pulumi.<stack>.yaml."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from stacks.config.backup import BackupConfig, NoBackup
from stacks.config.base import DnsLabel, StrictModel
from stacks.config.federation import Federation, FederationSection
from stacks.config.monitoring import Monitoring
from stacks.config.redis import RedisDeployment
from stacks.config.storage import StorageConfig

# Versions whose OpenAPI schemas the render check validates against.
SUPPORTED_K8S = tuple(f"1.{minor}" for minor in range(28, 38))


def _k8s_version(value: str) -> str:
    if value not in SUPPORTED_K8S:
        raise ValueError(f"{value!r} is not a supported Kubernetes version ({', '.join(SUPPORTED_K8S)})")
    return value


class StackConfig(StrictModel):
    environment: DnsLabel
    cluster_name: DnsLabel
    kubernetes_version: Annotated[str, AfterValidator(_k8s_version)] = "1.31"
    redis_namespace: DnsLabel = "redis"
    cluster_domain: str = "cluster.local"
    storage: StorageConfig
    deployments: tuple[RedisDeployment, ...] = ()
    monitoring: Monitoring = Field(default_factory=Monitoring)
    federation: FederationSection = Field(default_factory=Federation)
    backup: BackupConfig = Field(default_factory=NoBackup)

    @field_validator("deployments")
    @classmethod
    def _unique_names(cls, deployments: tuple[RedisDeployment, ...]) -> tuple[RedisDeployment, ...]:
        first: dict[str, int] = {}
        for index, dep in enumerate(deployments):
            if dep.name in first:
                # A leading "[i].key:" is joined to the key path by errors.py.
                raise ValueError(f"[{index}].name: {dep.name!r} is already the name of deployments[{first[dep.name]}]")
            first[dep.name] = index
        return deployments

    def namespace_of(self, dep: RedisDeployment) -> str:
        return dep.namespace or self.redis_namespace
