"""Composition of the monitoring backups: the stack's object store (the
`backup` section, shared with the Redis backups) under the monitoring prefix,
the schedule expanded for the sidecars' matcher, and on AWS the monitoring
pods' own IRSA role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.monitoring import labels as L
from components.monitoring.backup import CronFields, MonitoringBackupSpec
from components.monitoring.backup_role import MonitoringBackupRole, MonitoringBackupRoleArgs
from stacks.config import StackConfig
from stacks.config.backup import AwsBackup, S3CompatibleBackup
from stacks.config.redis import HAPROXY_IMAGE
from stacks.cron import max_gap_seconds
from stacks.object_store import object_store_for

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# Descriptors as five fields (robfig/cron's meaning).
_DESCRIPTORS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
                "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
# A snapshot upload of a 50Gi TSDB on top of the gap between two runs.
RUN_GRACE_SECONDS = 3600
# Pod names of the servers that get a backup sidecar (their ServiceAccounts).
SERVERS = ("prometheus", "grafana")


def _values(text: str, lo: int, hi: int) -> tuple[int, ...]:
    out: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            start, end = lo, hi
        else:
            start = int(base.split("-")[0])
            end = int(base.split("-")[-1]) if "-" in base else (hi if step else start)
        out.update(range(start, end + 1, int(step or 1)))
    return tuple(sorted(out))


def cron_fields(schedule: str) -> CronFields:
    """The values each field of a (numeric) schedule matches, as the sidecar reads them."""
    fields = _DESCRIPTORS.get(schedule, schedule).split()
    minute, hour, dom, month, dow = (_values(f, lo, hi) for f, (lo, hi) in zip(fields, _RANGES))
    # robfig/cron: with both day fields restricted (neither starting with '*'), either matches.
    day_or = not fields[2].startswith(("*", "?")) and not fields[4].startswith(("*", "?"))
    return CronFields(minute, hour, dom, month, dow, day_or)


@dataclass(frozen=True)
class MonitoringBackupPlan:
    spec: MonitoringBackupSpec
    servers: tuple[str, ...]
    service_account_annotations: dict[str, Any] = field(default_factory=dict)


def build_monitoring_backup(cfg: StackConfig) -> MonitoringBackupPlan | None:
    b, m = cfg.backup, cfg.monitoring
    mb = m.backup
    if not isinstance(b, (AwsBackup, S3CompatibleBackup)) or not b.enabled or not mb.enabled:
        return None
    servers = tuple(s for s in SERVERS if getattr(mb, s))
    if not servers:
        return None
    store = object_store_for(b, mb.prefix)
    annotations: dict[str, Any] = {}
    if not isinstance(b, S3CompatibleBackup):
        role = MonitoringBackupRole("monitoring-backup", MonitoringBackupRoleArgs(
            bucket_name=b.bucket_name, prefix=mb.prefix, environment=cfg.environment,
            oidc=b.oidc,
            service_accounts=tuple(f"{m.namespace}/{s}" for s in servers), kms_key_id=b.kms_key_id,
        ))
        annotations = {IRSA_ANNOTATION: role.role_arn}
    pushgateway = f"http://pushgateway.{m.namespace}.svc:{L.PUSHGATEWAY_PORT}" if m.pushgateway.enabled else None
    spec = MonitoringBackupSpec(
        store=store, schedule=cron_fields(mb.schedule), environment=cfg.environment, guard_image=HAPROXY_IMAGE,
        max_age_seconds=max_gap_seconds(_DESCRIPTORS.get(mb.schedule, mb.schedule)) + RUN_GRACE_SECONDS,
        pushgateway_url=pushgateway,
    )
    return MonitoringBackupPlan(spec=spec, servers=servers, service_account_annotations=annotations)
