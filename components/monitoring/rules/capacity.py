"""Redis Cluster capacity: how many shards each deployment needs.

Adding shards moves slots and data, so it stays a reviewed config change; the
rules only say when and to what. Per deployment (masters of cluster-mode
nodes only; replicas hold copies and serve no extra write load):

- memory: the shards that keep the masters' used memory under
  ``shard_memory_target_ratio`` of their maxmemory,
  ceil(sum(used) / (target x average maxmemory per master));
- CPU: the shards that keep each master under ``shard_cpu_target_cores`` of a
  core (Redis runs commands on one thread),
  ceil(sum(CPU seconds per second) / target).

The larger one is the recommendation. ``RedisClusterNeedsShards`` (warning,
carrying the team label, so team-routed) fires while it is above the shard
count the deployment runs; the headroom records feed the dashboard.
"""

from __future__ import annotations

from components.monitoring.rules.model import Alert, Record, RuleGroup, RulesSpec

BY = "by (namespace, deployment, team)"
MASTERS = 'redis_instance_info{redis_mode="cluster", role="master"}'
ON_MASTERS = f"and on (namespace, pod) {MASTERS}"

SHARDS = "job:redis_cluster_shards:count"
USED = "job:redis_cluster_memory_used_bytes:sum"
MAXMEM = "job:redis_cluster_maxmemory_bytes:avg"
CPU = "job:redis_cluster_cpu_cores:sum_rate5m"
NEEDED = "job:redis_cluster_shards_needed:max"
MEM_HEADROOM = "job:redis_cluster_memory_headroom:ratio"
CPU_HEADROOM = "job:redis_cluster_cpu_headroom:ratio"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    mem, cpu = spec.shard_memory_target_ratio, spec.shard_cpu_target_cores
    needed_mem = f'label_replace(ceil({USED} / ({mem} * ({MAXMEM} > 0))), "reason", "memory", "", "")'
    needed_cpu = f'label_replace(ceil({CPU} / {cpu}), "reason", "cpu", "", "")'
    return (
        RuleGroup(
            "redis-capacity",
            (
                Record(SHARDS, f"count {BY} ({MASTERS})"),
                Record(USED, f"sum {BY} (redis_memory_used_bytes {ON_MASTERS})"),
                Record(MAXMEM, f"avg {BY} (redis_memory_max_bytes {ON_MASTERS})"),
                Record(CPU, f"sum {BY} ((rate(redis_cpu_user_seconds_total[5m]) + rate(redis_cpu_sys_seconds_total[5m])) "
                            f"{ON_MASTERS})"),
                Record(NEEDED, f"max {BY} ({needed_mem} or {needed_cpu})"),
                # 1: empty; 0: at the target; below 0: past it.
                Record(MEM_HEADROOM, f"1 - {USED} / ({mem} * {SHARDS} * ({MAXMEM} > 0))"),
                Record(CPU_HEADROOM, f"1 - {CPU} / ({cpu} * {SHARDS})"),
            ),
        ),
        RuleGroup(
            "redis-capacity-alerts",
            (
                Alert("RedisClusterNeedsShards", f"{NEEDED} > {SHARDS}", spec.shard_advice_for, "warning",
                      "Deployment {{ $labels.deployment }} needs {{ $value | printf \"%.0f\" }} shards",
                      "Deployment {{ $labels.deployment }} (team {{ $labels.team }}) needs {{ $value | printf \"%.0f\" }} "
                      f"shards to keep memory under {mem:.0%} of maxmemory and each master under {cpu:g} CPU cores. "
                      "Change its entry in the stack file to `cluster: {shards: {{ $value | printf \"%.0f\" }}}` "
                      "and run pulumi up after review: new shards get slots moved to them."),
            ),
        ),
    )
