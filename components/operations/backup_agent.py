"""The backup sidecar of each Redis data pod: its preStop uploads the pod's
persistence files once the redis container's own preStop (a master's
handover) is over, so what is uploaded is a replica's data, not a master's
mid-write. The composition in stacks/ hands its pieces to the Redis
components as generic pod additions; they do not know it is a backup.

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.common.redis_contract import DATA_DIR
from components.operations import scripts
from components.operations.pods import TMP_MOUNT, SCRIPTS_MOUNT, container, scripts_volume
from components.common.object_store import ObjectStore

HANDOFF_DIR = "/handoff"
HANDOFF_FILE = f"{HANDOFF_DIR}/handover-done"


@dataclass(frozen=True)
class BackupAgent:
    """The sidecar of one deployment. ``handover_wait``: seconds its preStop
    waits for the redis container's handover signal; ``budget_seconds``: that
    wait plus the upload, which the pod's grace period grows by."""

    store: ObjectStore
    deployment: str
    config_map: str
    budget_seconds: int = 60
    handover_wait: int = 0
    extra_env: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def container(self) -> dict[str, Any]:
        env = self.store.env() + [
            {"name": "DEPLOYMENT", "value": self.deployment},
            {"name": "DATA_DIR", "value": DATA_DIR},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "HANDOFF_FILE", "value": HANDOFF_FILE},
            {"name": "HANDOVER_WAIT", "value": str(self.handover_wait)},
        ]
        c = container("backup-agent", self.store.aws_cli_image, scripts.pod_command(scripts.AGENT), env + list(self.extra_env),
                      [{"name": "data", "mountPath": DATA_DIR, "readOnly": True}, SCRIPTS_MOUNT, TMP_MOUNT,
                       {"name": "handoff", "mountPath": HANDOFF_DIR, "readOnly": True}],
                      cpu="10m", memory="64Mi", cpu_limit="500m", memory_limit="256Mi")
        # No probes: the process only idles; its work is the preStop hook.
        c["lifecycle"] = {"preStop": {"exec": {"command": scripts.pod_command(scripts.PRESTOP, str(self.budget_seconds))}}}
        # The agent's own /tmp: the pod's "tmp" volume is the redis container's.
        c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "tmp"] + [{"name": "agent-tmp", "mountPath": "/tmp"}]
        return c

    def volumes(self) -> list[dict[str, Any]]:
        return [
            scripts_volume(self.config_map, (scripts.S3_LIB, scripts.AGENT, scripts.PRESTOP)),
            {"name": "handoff", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "agent-tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ]

    def redis_mounts(self) -> list[dict[str, Any]]:
        """The redis container writes the handoff file the agent waits for."""
        return [{"name": "handoff", "mountPath": HANDOFF_DIR}]

    def handover_signal(self) -> str:
        """What the redis container runs once its own preStop is over."""
        return f"touch {HANDOFF_FILE}"
