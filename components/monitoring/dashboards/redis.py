"""Redis overview: one deployment (or all) and one role (or all) at a time.

Rows that hold for both modes come first; the cluster row and the Sentinel
row read series only that mode exports, and say so in their titles. Every
legend names the deployment, and the pod where a series is one pod's.
Sentinel pods export redis_up and INFO series too: the data panels leave
them out by their ``component`` label (from app.kubernetes.io/component).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.common.redis_contract import SENTINEL
from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, sel, stat, timeseries, variable

UID = "redis-overview"
D = f'deployment=~"$deployment", component!="{SENTINEL}"'
S = f'deployment=~"$deployment", component="{SENTINEL}"'
# Series of the selected role: redis_instance_info carries role, the other
# series of the same scrape share its instance label.
ROLE = f' and on(instance) redis_instance_info{{{D}, role=~"$role"}}'
POD = "{{deployment}} {{pod}}"


def _health(spec: DashboardSpec, board):
    by = "by (deployment)"
    return (
        board.with_row(Row("Health"))
        .with_panel(stat(spec, "Nodes up / total", "none", (f"sum {by} ({sel('redis_up', D)})", "{{deployment}} up"),
                         (f"count {by} ({sel('redis_up', D)})", "{{deployment}} total")))
        .with_panel(stat(spec, "Masters", "none",
                         (f'count {by} (redis_instance_info{{{D}, role="master"}})', "{{deployment}} masters")))
        .with_panel(stat(spec, "Sentinels up / total (Sentinel mode)", "none",
                         (f"sum {by} ({sel('redis_up', S)})", "{{deployment}} up"),
                         (f"count {by} ({sel('redis_up', S)})", "{{deployment}} total")))
        .with_panel(stat(spec, "Cluster state ok (cluster mode)", "none",
                         (f"min {by} ({sel('redis_cluster_state', D)})", "{{deployment}}")))
    )


def _traffic_and_memory(spec: DashboardSpec, board):
    hits = f"sum by (deployment) (rate({sel('redis_keyspace_hits_total', D)}[{RATE}]))"
    misses = f"sum by (deployment) (rate({sel('redis_keyspace_misses_total', D)}[{RATE}]))"
    return (
        board.with_row(Row("Traffic"))
        .with_panel(timeseries(spec, "Commands per second", "ops",
                               (f"sum by (deployment, pod) (rate({sel('redis_commands_processed_total', D)}[{RATE}]){ROLE})", POD)))
        .with_panel(timeseries(spec, "Keyspace hit ratio", "percentunit", (f"{hits} / ({hits} + {misses})", "{{deployment}}")))
        .with_panel(timeseries(spec, "Connected and blocked clients", "short",
                               (f"{sel('redis_connected_clients', D)}{ROLE}", f"{POD} connected"),
                               (f"{sel('redis_blocked_clients', D)}{ROLE}", f"{POD} blocked")))
        .with_panel(timeseries(spec, "Network", "Bps",
                               (f"rate({sel('redis_net_input_bytes_total', D)}[{RATE}]){ROLE}", f"{POD} in"),
                               (f"rate({sel('redis_net_output_bytes_total', D)}[{RATE}]){ROLE}", f"{POD} out")))
        .with_row(Row("Memory"))
        .with_panel(timeseries(spec, "Memory used vs maxmemory", "bytes",
                               (f"{sel('redis_memory_used_bytes', D)}{ROLE}", f"{POD} used"),
                               (f"{sel('redis_memory_max_bytes', D)}{ROLE}", f"{POD} maxmemory")))
        .with_panel(timeseries(spec, "Fullest node, share of maxmemory", "percentunit",
                               (sel("job:redis_memory_used:ratio_maxmemory", 'deployment=~"$deployment"'), "{{deployment}}")))
        .with_panel(timeseries(spec, "Evicted and expired keys", "short",
                               (f"rate({sel('redis_evicted_keys_total', D)}[{RATE}]){ROLE}", f"{POD} evicted"),
                               (f"rate({sel('redis_expired_keys_total', D)}[{RATE}]){ROLE}", f"{POD} expired")))
        .with_panel(timeseries(spec, "Keys", "short", (f"sum by (deployment, pod) ({sel('redis_db_keys', D)}{ROLE})", POD)))
        .with_row(Row("Replication"))
        .with_panel(timeseries(spec, "Connected replicas", "short", (f"{sel('redis_connected_slaves', D)}{ROLE}", POD)))
        .with_panel(timeseries(spec, "Replica link to master", "bool_yes_no",
                               (sel("redis_master_link_up", D), f"{POD} -> {{{{master_host}}}}")))
        .with_panel(timeseries(spec, "Replication offset", "bytes", (f"{sel('redis_master_repl_offset', D)}{ROLE}", POD)))
    )


def _cluster(spec: DashboardSpec, board):
    dep = 'deployment=~"$deployment"'
    return (
        board.with_row(Row("Redis Cluster (cluster mode)"))
        .with_panel(stat(spec, "Cluster slots failing", "none",
                         (f"max by (deployment) ({sel('redis_cluster_slots_fail', D)}) + "
                          f"max by (deployment) ({sel('redis_cluster_slots_pfail', D)})", "{{deployment}}")))
        # rules/capacity.py: 1 is empty, 0 is at the shard-advice target, below 0 more shards are due.
        .with_panel(timeseries(spec, "Cluster shard headroom (memory, CPU)", "percentunit",
                               (f"job:redis_cluster_memory_headroom:ratio{{{dep}}}", "{{deployment}} memory"),
                               (f"job:redis_cluster_cpu_headroom:ratio{{{dep}}}", "{{deployment}} CPU")))
        .with_panel(stat(spec, "Shards running / advised", "none",
                         (f"sum by (deployment) (job:redis_cluster_shards:count{{{dep}}})", "{{deployment}} running"),
                         (f"sum by (deployment) (job:redis_cluster_shards_needed:max{{{dep}}})", "{{deployment}} advised")))
        .with_panel(timeseries(spec, "Cluster slots", "short",
                               (f"max by (deployment) ({sel('redis_cluster_slots_ok', D)})", "{{deployment}} ok"),
                               (f"max by (deployment) ({sel('redis_cluster_slots_assigned', D)})", "{{deployment}} assigned"),
                               (f"max by (deployment) ({sel('redis_cluster_known_nodes', D)})", "{{deployment}} known nodes")))
    )


def _sentinel(spec: DashboardSpec, board):
    """Each Sentinel's own view (its exporter asks only that Sentinel)."""
    return (
        board.with_row(Row("Sentinel (Sentinel mode)"))
        .with_panel(timeseries(spec, "Quorum and failover authorization reachable (CKQUORUM)", "bool_yes_no",
                               (sel("redis_sentinel_master_ckquorum_status", S), f"{POD} {{{{master_name}}}}")))
        .with_panel(timeseries(spec, "Master status each Sentinel reports", "short",
                               (sel("redis_sentinel_master_status", S),
                                f"{POD} {{{{master_name}}}} {{{{master_address}}}} {{{{master_status}}}}")))
        .with_panel(timeseries(spec, "Sentinels and replicas each Sentinel sees ok", "short",
                               (sel("redis_sentinel_master_ok_sentinels", S), f"{POD} Sentinels ok"),
                               (sel("redis_sentinel_master_ok_slaves", S), f"{POD} replicas ok")))
        .with_panel(timeseries(spec, "TILT mode", "bool_yes_no", (sel("redis_sentinel_tilt", S), POD)))
    )


def build(spec: DashboardSpec):
    board = (
        new_dashboard(spec, UID, "Redis / Overview")
        .with_variable(variable(spec, "deployment", "label_values(redis_up, deployment)"))
        .with_variable(variable(spec, "role", f"label_values(redis_instance_info{{{D}}}, role)"))
    )
    return _sentinel(spec, _cluster(spec, _traffic_and_memory(spec, _health(spec, board))))
