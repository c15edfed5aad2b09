"""Backup outcome alerts, on the series each deployment's backup Job pushes
to the Pushgateway (job="redis-backup", grouping key deployment):

    redis_backup_last_success_timestamp_seconds{deployment, team}
    redis_backup_last_duration_seconds{deployment, team}
    redis_backup_last_size_bytes{deployment, team}
    redis_backup_credentials_missing{deployment, team, secret}

The last one is 1 when a run stopped because the object store's access keys
(an optional Secret, so Redis starts without it) are missing, and 0 after a
successful run: the degraded state docs/security.md promises is visible.

The Pushgateway keeps the last push, so a Job that stops succeeding (or
stops running) leaves an ageing timestamp, which is what the alert reads. A
deployment that never pushed (its backups could not run from the first day)
has no series: ``absent`` covers it once Prometheus and the Pushgateway
(which keeps pushes in memory only) have both run longer than the allowance.
How old it may get depends on each deployment's schedule; the composition
works that out from the cron expression (stacks/cron.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

SUCCESS = "redis_backup_last_success_timestamp_seconds"
CREDENTIALS_MISSING = "redis_backup_credentials_missing"


@dataclass(frozen=True)
class BackupExpectation:
    deployment: str
    # Longest gap between two scheduled runs plus the time a run may take.
    max_age_seconds: int
    # Owning team: the label a never-pushed deployment's alert is routed by.
    team: str


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    if not spec.backups:
        return ()
    parts = [f'(time() - {SUCCESS}{{deployment="{b.deployment}"}} > {b.max_age_seconds})' for b in spec.backups]
    # Never pushed: no series, for longer than one allowance since the later
    # of Prometheus's and the Pushgateway's starts (a restarted Pushgateway
    # has forgotten every push; that is not a backup failing).
    uptime = 'scalar(time() - max(process_start_time_seconds{job=~"prometheus|pushgateway"}))'
    parts += [f'(absent({SUCCESS}{{deployment="{b.deployment}", team="{b.team}"}}) * {uptime} > {b.max_age_seconds})'
              for b in spec.backups]
    stale = " or ".join(parts)
    return (
        RuleGroup(
            "backup-alerts",
            (
                Alert("RedisBackupStale", stale, "0m", "warning",
                      "No recent backup of {{ $labels.deployment }}",
                      "The last successful backup of deployment {{ $labels.deployment }} (team {{ $labels.team }}) "
                      "is {{ $value | printf \"%.0f\" }}s old (or none succeeded since monitoring started that long "
                      "ago), more than its schedule allows; check the backup CronJob's Jobs."),
                # Pushed once per scheduled run and kept by the Pushgateway
                # until the next: no `for:`, the state is already a run's verdict.
                Alert("RedisBackupCredentialsMissing", f"{CREDENTIALS_MISSING} == 1", "0m", "warning",
                      "Backups of {{ $labels.deployment }} cannot run: no object store credentials",
                      "The last backup run of deployment {{ $labels.deployment }} (team {{ $labels.team }}) stopped "
                      "because Secret {{ $labels.secret }} is missing or incomplete in its namespace; no backup is "
                      "taken until it exists (backup.accessKeyId/secretAccessKey in config make the program "
                      "create it)."),
            ),
        ),
    )
