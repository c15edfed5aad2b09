"""One Redis deployment as the ops scripts reach it: the composition in
stacks/ fills this from the deployment's config, so nothing here imports the
Redis components.

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.k8s import secret_env
from components.common.redis_acl import ADMIN, USER_ENV, secret_name
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
    # The deployment has ACL users (components/common/redis_acl.py): each
    # job logs in as its own user, with that user's Secret.
    acl_users: bool = False

    def env(self, user: str = ADMIN) -> list[dict[str, Any]]:
        """The scripts' environment; ``user``: which ACL user the job logs in
        as (the backup Job its own, restore/drill/migration the admin)."""
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
        if not self.acl_users:
            return out + [secret_env(REDISCLI_AUTH_ENV, self.auth_secret)]
        return out + [{"name": USER_ENV, "value": user}, secret_env(REDISCLI_AUTH_ENV, secret_name(self.deployment, user))]
