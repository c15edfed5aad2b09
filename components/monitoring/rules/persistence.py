"""Redis persistence alerts: a failed background save or AOF write.

A failed save is more than a stale file: with ``stop-writes-on-bgsave-error``
(Redis's default) the node refuses writes after a failed RDB save, and it
always refuses them while its last AOF write failed (MISCONF to clients).
The statuses stay failed until the next success, so they are read as gauges.
"""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

WHERE = "{{ $labels.pod }} of deployment {{ $labels.deployment }} (team {{ $labels.team }})"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    return (
        RuleGroup(
            "persistence-alerts",
            (
                Alert("RedisRdbSaveFailing", "redis_rdb_last_bgsave_status == 0", "1m", "critical",
                      "Redis background save failing on {{ $labels.pod }}",
                      f"The last RDB save of {WHERE} failed (disk full or unwritable?); the node refuses writes "
                      "until a save succeeds, and backups and full resyncs lack a fresh snapshot."),
                Alert("RedisAofWriteFailing", "redis_aof_last_write_status == 0", "1m", "critical",
                      "Redis cannot write its AOF on {{ $labels.pod }}",
                      f"The last AOF write of {WHERE} failed; the node refuses writes until the AOF can be "
                      "written again."),
                # Redis retries a failed rewrite by itself; one that stays
                # failed lets the AOF grow until the volume is full.
                Alert("RedisAofRewriteFailing", "redis_aof_last_bgrewrite_status == 0", "10m", "warning",
                      "Redis AOF rewrite failing on {{ $labels.pod }}",
                      f"The last AOF rewrite of {WHERE} failed and none has succeeded since; the AOF keeps "
                      "growing and restarts replay more of it."),
            ),
        ),
    )
