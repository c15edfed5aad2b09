"""One Redis deployment as the ops scripts reach it: the composition in
stacks/ fills this from the deployment's config, so nothing here imports the
Redis components.

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.k8s import secret_env
from components.common.redis_contract import REDIS_PORT, REDISCLI_AUTH_ENV


@dataclass(frozen=True)
class OpsTarget:
    deployment: str
    mode: str
    redis_image: str
    auth_secret: str
    config_map: str
    labels: dict[str, str]
    memory: str = "1Gi"
    scratch_size: str = "10Gi"
    cluster_nodes: tuple[str, ...] = ()
    sentinel_hosts: tuple[str, ...] = ()
    master_set: str = ""
    write_host: str = ""
    replicas: int = 1
    redis_config_map: str = ""
    handover_script: str = ""
    # TLS on: the deployment's certificate Secret (ops pods mount its CA).
    tls_secret: str | None = None

    def env(self) -> list[dict[str, Any]]:
        out = [
            {"name": "MODE", "value": self.mode},
            {"name": "DEPLOYMENT", "value": self.deployment},
            {"name": "REDIS_PORT", "value": str(REDIS_PORT)},
        ]
        if self.mode == "cluster":
            out.append({"name": "CLUSTER_NODES", "value": " ".join(self.cluster_nodes)})
        else:
            out += [
                {"name": "SENTINEL_HOSTS", "value": " ".join(self.sentinel_hosts)},
                {"name": "MASTER_SET", "value": self.master_set},
                {"name": "REPLICAS", "value": str(self.replicas)},
            ]
        return out + [secret_env(REDISCLI_AUTH_ENV, self.auth_secret)]
