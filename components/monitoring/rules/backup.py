"""Backup outcome alerts, on the series each deployment's backup Job pushes
to the Pushgateway (job="redis-backup", grouping key deployment):

    redis_backup_last_success_timestamp_seconds{deployment, team}
    redis_backup_last_duration_seconds{deployment, team}
    redis_backup_last_size_bytes{deployment, team}

The Pushgateway keeps the last push, so a Job that stops succeeding (or
stops running) leaves an ageing timestamp, which is what the alert reads.
How old it may get depends on each deployment's schedule; the composition
works that out from the cron expression (stacks/cron.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

SUCCESS = "redis_backup_last_success_timestamp_seconds"


@dataclass(frozen=True)
class BackupExpectation:
    deployment: str
    # Longest gap between two scheduled runs plus the time a run may take.
    max_age_seconds: int


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    if not spec.backups:
        return ()
    stale = " or ".join(f'(time() - {SUCCESS}{{deployment="{b.deployment}"}} > {b.max_age_seconds})'
                        for b in spec.backups)
    return (
        RuleGroup(
            "backup-alerts",
            (
                Alert("RedisBackupStale", stale, "0m", "warning",
                      "No recent backup of {{ $labels.deployment }}",
                      "The last successful backup of deployment {{ $labels.deployment }} (team {{ $labels.team }}) "
                      "is {{ $value | printf \"%.0f\" }}s old, more than its schedule allows; check the backup "
                      "CronJob's Jobs."),
            ),
        ),
    )
