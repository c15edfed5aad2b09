"""Fleet view on the global Prometheus: federated job: series from every
environment."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import DashboardSpec, new_dashboard, stat, timeseries, to_json, variable

UID = "redis-fleet"
E = 'environment=~"$environment"'


def build(spec: DashboardSpec):
    return (
        new_dashboard(spec, UID, "Redis / Fleet")
        .with_variable(variable(spec, "environment", "label_values(job:redis_up:sum, environment)"))
        .with_row(Row("Environments"))
        .with_panel(stat(spec, "Lower Prometheus servers up", "none",
                         (f'sum(up{{job=~"{spec.federate_job_regex}"}})', "up"),
                         (f'count(up{{job=~"{spec.federate_job_regex}"}})', "total")))
        .with_panel(stat(spec, "Deployments fully down", "none",
                         (f"count(job:redis_up:sum{{{E}}} == 0) or vector(0)", "down")))
        .with_panel(stat(spec, "Redis nodes up", "none", (f"sum(job:redis_up:sum{{{E}}})", "up"),
                         (f"sum(job:redis_up:count{{{E}}})", "total")))
        .with_panel(stat(spec, "Masters", "none", (f'count(redis_instance_info{{{E}, role="master"}})', "masters")))
        .with_row(Row("Deployments"))
        .with_panel(timeseries(spec, "Nodes up per deployment", "short",
                               (f"job:redis_up:sum{{{E}}}", "{{environment}}/{{deployment}}")))
        .with_panel(timeseries(spec, "Commands per second", "ops",
                               (f"job:redis_commands_processed:rate5m{{{E}}}", "{{environment}}/{{deployment}}")))
        .with_panel(timeseries(spec, "Fullest node, share of maxmemory", "percentunit",
                               (f"job:redis_memory_used:ratio_maxmemory{{{E}}}", "{{environment}}/{{deployment}}")))
        .with_panel(timeseries(spec, "Keyspace hit ratio", "percentunit",
                               (f"job:redis_keyspace_hits:ratio_rate5m{{{E}}}", "{{environment}}/{{deployment}}")))
        .with_panel(timeseries(spec, "Clients", "short",
                               (f"job:redis_connected_clients:sum{{{E}}}", "{{environment}}/{{deployment}}")))
        .with_panel(timeseries(spec, "Evictions per second", "short",
                               (f"job:redis_evicted_keys:rate5m{{{E}}}", "{{environment}}/{{deployment}}")))
    )


def render(spec: DashboardSpec) -> str:
    return to_json(build(spec))
