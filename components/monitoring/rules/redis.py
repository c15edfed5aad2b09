"""Redis alerts and the recording rules federation pulls.

Metric names are those of oliver006/redis_exporter (Debian's
prometheus-redis-exporter is the same program). Aggregations keep
``deployment`` and ``team`` so Alertmanager can route and inhibit by them.
"""

from __future__ import annotations

from components.common.redis_contract import SENTINEL
from components.monitoring.labels import COMPONENT, DEPLOYMENT, TEAM
from components.monitoring.rules.model import COUNT, RATIO, Alert, Level, Record, RuleGroup, RulesSpec, graded

BY = f"by ({DEPLOYMENT}, {TEAM})"
WHERE = "{{ $labels.pod }} of deployment {{ $labels.deployment }} (team {{ $labels.team }})"
DEP = "deployment {{ $labels.deployment }} (team {{ $labels.team }})"


# Data nodes only: a Sentinel's exporter reports redis_up, commands and
# clients too. A deployment whose every data node is down is down however
# many Sentinels still answer (RedisDeploymentDown reads job:redis_up:sum on
# the global side), and its traffic is its data nodes' traffic.
def _nodes(metric: str) -> str:
    return f'{metric}{{{COMPONENT}!="{SENTINEL}"}}'


def recording_rules() -> RuleGroup:
    up, hits, misses = _nodes("redis_up"), _nodes("redis_keyspace_hits_total"), _nodes("redis_keyspace_misses_total")
    return RuleGroup(
        "redis-recording",
        (
            Record("job:redis_up:sum", f"sum {BY} ({up})"),
            Record("job:redis_up:count", f"count {BY} ({up})"),
            Record("job:redis_commands_processed:rate5m",
                   f"sum {BY} (rate({_nodes('redis_commands_processed_total')}[5m]))"),
            Record("job:redis_memory_used_bytes:sum", f"sum {BY} ({_nodes('redis_memory_used_bytes')})"),
            # The fullest node of a deployment; maxmemory 0 (unlimited) is left out.
            Record(
                "job:redis_memory_used:ratio_maxmemory",
                f"max {BY} (redis_memory_used_bytes / (redis_memory_max_bytes > 0))",
            ),
            Record("job:redis_connected_clients:sum", f"sum {BY} ({_nodes('redis_connected_clients')})"),
            Record(
                "job:redis_keyspace_hits:ratio_rate5m",
                f"sum {BY} (rate({hits}[5m])) / (sum {BY} (rate({hits}[5m])) + sum {BY} (rate({misses}[5m])))",
            ),
            Record("job:redis_evicted_keys:rate5m", f"sum {BY} (rate({_nodes('redis_evicted_keys_total')}[5m]))"),
        ),
    )


def alert_rules(spec: RulesSpec) -> RuleGroup:
    # Sentinel sets run redis in standalone mode; cluster shards report
    # redis_mode="cluster" and legitimately have many masters.
    standalone = 'redis_instance_info{redis_mode="standalone"}'
    masters = 'redis_instance_info{redis_mode="standalone", role="master"}'
    noevict_ratio = (
        f"max {BY} ((redis_memory_used_bytes / (redis_memory_max_bytes > 0)) "
        f'and on (namespace, pod) redis_instance_info{{maxmemory_policy="noeviction"}})'
    )
    return RuleGroup(
        "redis-alerts",
        (
            Alert("RedisDown", "redis_up == 0", "1m", "critical",
                  "Redis is down on {{ $labels.pod }}",
                  f"The exporter cannot reach Redis on {WHERE}."),
            Alert("RedisClusterStateNotOk", "redis_cluster_state == 0", "1m", "critical",
                  "Redis Cluster state is fail ({{ $labels.deployment }})",
                  f"{WHERE} reports cluster_state:fail; the cluster refuses queries."),
            Alert("RedisClusterSlotsFailing", "redis_cluster_slots_fail > 0 or redis_cluster_slots_pfail > 0", "1m",
                  "critical", "Redis Cluster slots failing ({{ $labels.deployment }})",
                  f"{WHERE} sees {COUNT} slots in fail or pfail state."),
            Alert("RedisClusterSlotsUnassigned", "redis_cluster_slots_assigned < 16384", "5m", "critical",
                  "Redis Cluster slots not all assigned ({{ $labels.deployment }})",
                  f"{WHERE} has only {COUNT} of 16384 slots assigned."),
            Alert("RedisNoMaster", f"count {BY} ({standalone}) unless count {BY} ({masters})", "1m", "critical",
                  "No Redis master in {{ $labels.deployment }}",
                  f"Every node of {DEP} is a replica; writes fail until Sentinel promotes one."),
            Alert("RedisMultipleMasters", f"count {BY} ({masters}) > 1", "1m", "critical",
                  "More than one Redis master in {{ $labels.deployment }}",
                  f"{COUNT} nodes of {DEP} call themselves master (split brain or "
                  "an old master back after failover)."),
            Alert("RedisReplicationBroken", "redis_master_link_up == 0", "2m", "warning",
                  "Redis replica lost its master link on {{ $labels.pod }}",
                  f"Replica {WHERE} is not connected to master {{{{ $labels.master_host }}}}."),
            # Only a node that never evicts refuses writes when full; for
            # allkeys-* and volatile-* policies sitting at maxmemory is the
            # steady state of a cache, and a refused write shows up as OOM
            # errors instead (RedisOutOfMemoryErrors, any policy).
            *graded("RedisMemoryNearMaxmemory", noevict_ratio,
                    Level(spec.redis_memory_warning_ratio, "5m", "Redis memory near maxmemory ({{ $labels.deployment }})",
                          f"The fullest noeviction node of {DEP} uses {RATIO} of maxmemory."),
                    Level(spec.redis_memory_critical_ratio, "2m", "Redis memory at maxmemory ({{ $labels.deployment }})",
                          f"The fullest noeviction node of {DEP} uses {RATIO} of maxmemory; writes are about to be "
                          "refused.")),
            Alert("RedisRejectedConnections", "increase(redis_rejected_connections_total[5m]) > 0", "0m", "warning",
                  "Redis rejected connections on {{ $labels.pod }}",
                  f"{WHERE} rejected {COUNT} connections in 5m (maxclients reached)."),
            # Evictions are not alerted on: noeviction never evicts, and the
            # other policies evict by design. What hurts clients is a write
            # refused because memory is full, whatever the policy.
            Alert("RedisOutOfMemoryErrors", 'increase(redis_errors_total{err="OOM"}[2m]) > 0', "2m", "critical",
                  "Redis refuses writes on {{ $labels.pod }} (OOM)",
                  f"{WHERE} answered {COUNT} commands with OOM in 2m: memory is at "
                  "maxmemory and nothing can be evicted."),
        ),
    )


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    return (recording_rules(), alert_rules(spec))
