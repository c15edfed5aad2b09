"""Redis overview: one deployment (or all) and one role (or all) at a time."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, stat, timeseries, to_json, variable

UID = "redis-overview"
D = 'deployment=~"$deployment"'
# Series of the selected role: redis_instance_info carries role, the other
# series of the same scrape share its instance label.
ROLE = f' and on(instance) redis_instance_info{{{D}, role=~"$role"}}'


def _sel(metric: str) -> str:
    return f"{metric}{{{D}}}"


def build(spec: DashboardSpec):
    hits = f"sum by (deployment) (rate({_sel('redis_keyspace_hits_total')}[{RATE}]))"
    misses = f"sum by (deployment) (rate({_sel('redis_keyspace_misses_total')}[{RATE}]))"
    return (
        new_dashboard(spec, UID, "Redis / Overview")
        .with_variable(variable(spec, "deployment", "label_values(redis_up, deployment)"))
        .with_variable(variable(spec, "role", f"label_values(redis_instance_info{{{D}}}, role)"))
        .with_row(Row("Health"))
        .with_panel(stat(spec, "Nodes up", "none", (f"sum({_sel('redis_up')})", "up"), (f"count({_sel('redis_up')})", "total")))
        .with_panel(stat(spec, "Masters", "none", (f'count(redis_instance_info{{{D}, role="master"}})', "masters")))
        .with_panel(stat(spec, "Cluster state ok", "none", (f"min({_sel('redis_cluster_state')})", "state")))
        .with_panel(stat(spec, "Cluster slots failing", "none",
                         (f"max({_sel('redis_cluster_slots_fail')}) + max({_sel('redis_cluster_slots_pfail')})", "slots")))
        .with_row(Row("Traffic"))
        .with_panel(timeseries(spec, "Commands per second", "ops",
                               (f"sum by (deployment, pod) (rate({_sel('redis_commands_processed_total')}[{RATE}]){ROLE})", "{{deployment}} {{pod}}")))
        .with_panel(timeseries(spec, "Keyspace hit ratio", "percentunit", (f"{hits} / ({hits} + {misses})", "{{deployment}}")))
        .with_panel(timeseries(spec, "Connected and blocked clients", "short",
                               (f"{_sel('redis_connected_clients')}{ROLE}", "{{deployment}} {{pod}} connected"),
                               (f"{_sel('redis_blocked_clients')}{ROLE}", "{{deployment}} {{pod}} blocked")))
        .with_panel(timeseries(spec, "Network", "Bps",
                               (f"rate({_sel('redis_net_input_bytes_total')}[{RATE}]){ROLE}", "{{deployment}} {{pod}} in"),
                               (f"rate({_sel('redis_net_output_bytes_total')}[{RATE}]){ROLE}", "{{deployment}} {{pod}} out")))
        .with_row(Row("Memory"))
        .with_panel(timeseries(spec, "Memory used vs maxmemory", "bytes",
                               (f"{_sel('redis_memory_used_bytes')}{ROLE}", "{{deployment}} {{pod}} used"),
                               (f"{_sel('redis_memory_max_bytes')}{ROLE}", "{{deployment}} {{pod}} maxmemory")))
        .with_panel(timeseries(spec, "Fullest node, share of maxmemory", "percentunit",
                               (f"job:redis_memory_used:ratio_maxmemory{{{D}}}", "{{deployment}}")))
        .with_panel(timeseries(spec, "Evicted and expired keys", "short",
                               (f"rate({_sel('redis_evicted_keys_total')}[{RATE}]){ROLE}", "{{deployment}} {{pod}} evicted"),
                               (f"rate({_sel('redis_expired_keys_total')}[{RATE}]){ROLE}", "{{deployment}} {{pod}} expired")))
        .with_panel(timeseries(spec, "Keys", "short", (f"sum by (deployment, pod) ({_sel('redis_db_keys')}{ROLE})", "{{deployment}} {{pod}}")))
        .with_row(Row("Replication and cluster"))
        .with_panel(timeseries(spec, "Connected replicas", "short", (f"{_sel('redis_connected_slaves')}{ROLE}", "{{deployment}} {{pod}}")))
        .with_panel(timeseries(spec, "Replica link to master", "bool_yes_no",
                               (_sel("redis_master_link_up"), "{{deployment}} {{pod}} -> {{master_host}}")))
        .with_panel(timeseries(spec, "Replication offset", "bytes", (f"{_sel('redis_master_repl_offset')}{ROLE}", "{{deployment}} {{pod}}")))
        # rules/capacity.py: 1 is empty, 0 is at the shard-advice target, below 0 more shards are due.
        .with_panel(timeseries(spec, "Cluster shard headroom (memory, CPU)", "percentunit",
                               (f"job:redis_cluster_memory_headroom:ratio{{{D}}}", "{{deployment}} memory"),
                               (f"job:redis_cluster_cpu_headroom:ratio{{{D}}}", "{{deployment}} CPU")))
        .with_panel(stat(spec, "Shards running / advised", "none",
                         (f"sum(job:redis_cluster_shards:count{{{D}}})", "running"),
                         (f"sum(job:redis_cluster_shards_needed:max{{{D}}})", "advised")))
        .with_panel(timeseries(spec, "Cluster slots", "short",
                               (f"max by (deployment) ({_sel('redis_cluster_slots_ok')})", "{{deployment}} ok"),
                               (f"max by (deployment) ({_sel('redis_cluster_slots_assigned')})", "{{deployment}} assigned"),
                               (f"max by (deployment) ({_sel('redis_cluster_known_nodes')})", "{{deployment}} known nodes")))
    )


def render(spec: DashboardSpec) -> str:
    return to_json(build(spec))
