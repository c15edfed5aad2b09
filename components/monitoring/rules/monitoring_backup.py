"""Staleness of the monitoring servers' own backups, on the series the backup
sidecars push (job="monitoring-backup", grouping key component):

    monitoring_backup_last_success_timestamp_seconds{component}
    monitoring_backup_last_duration_seconds{component}
    monitoring_backup_last_size_bytes{component}

As with the Redis backups, the Pushgateway keeps the last push, so a sidecar
that stops succeeding leaves an ageing timestamp. A server whose sidecar never
pushed at all (first days of a new stack, or a wrong Pushgateway URL) has no
series: ``absent`` covers it once the schedule's allowance has passed since
Prometheus and the Pushgateway started.
"""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

SUCCESS = "monitoring_backup_last_success_timestamp_seconds"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    if not spec.monitoring_backups or spec.monitoring_backup_max_age is None:
        return ()
    age = spec.monitoring_backup_max_age
    parts = [f'(time() - {SUCCESS}{{component="{c}"}} > {age})' for c in spec.monitoring_backups]
    # Never pushed: no series at all, for longer than one allowance since the
    # later of Prometheus's and the Pushgateway's starts (a restarted
    # Pushgateway has forgotten every push; that is no failed backup).
    uptime = 'scalar(time() - max(process_start_time_seconds{job=~"prometheus|pushgateway"}))'
    parts += [f'(absent({SUCCESS}{{component="{c}"}}) * {uptime} > {age})' for c in spec.monitoring_backups]
    return (
        RuleGroup(
            "monitoring-backup-alerts",
            (
                Alert("MonitoringBackupStale", " or ".join(parts), "0m", "warning",
                      "No recent backup of the monitoring {{ $labels.component }}",
                      "The last successful backup of {{ $labels.component }} is {{ $value | printf \"%.0f\" }}s old "
                      "(or it never succeeded), more than monitoring.backup.schedule allows; read the backup "
                      "sidecar's log in the {{ $labels.component }} pod."),
            ),
        ),
    )
