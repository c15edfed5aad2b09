"""Node-group migration: the Job of one step (replicas, promote, retire),
running migrate.sh for a cluster and migrate-sentinel.sh for a Sentinel set.
docs/operations.md has the procedure.

Pure: no Pulumi import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from components.operations import scripts
from components.operations.pods import TMP_MOUNT, SCRIPTS_MOUNT, container, job_pod, scripts_volume
from components.operations.target import OpsTarget


@dataclass(frozen=True)
class MigrationStep:
    step: str
    old_nodes: tuple[str, ...]
    new_nodes: tuple[str, ...]


def migration_job_name(deployment: str, step: MigrationStep) -> str:
    """A new name per step and node lists (Jobs are immutable and run once)."""
    digest = hashlib.sha256(f"{step.step}\n{step.old_nodes}\n{step.new_nodes}".encode()).hexdigest()[:8]
    return f"{deployment[:30]}-migrate-{step.step}-{digest}"


def migration_job_spec(target: OpsTarget, step: MigrationStep, service_account: str) -> dict[str, Any]:
    script = scripts.MIGRATE_SENTINEL if target.mode == "sentinel" else scripts.MIGRATE
    env = target.env() + [
        {"name": "STEP", "value": step.step},
        {"name": "OLD_NODES", "value": " ".join(step.old_nodes)},
        {"name": "NEW_NODES", "value": " ".join(step.new_nodes)},
    ]
    job = container("migrate", target.redis_image, scripts.pod_command(script), env, [SCRIPTS_MOUNT, TMP_MOUNT])
    return {"backoffLimit": 3, "activeDeadlineSeconds": 3600, "template": job_pod(target, service_account, [], [job], [scripts_volume(target.config_map)])}
