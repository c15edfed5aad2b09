"""Fleet view on the global Prometheus: federated job: series from every
environment."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import DashboardSpec, new_dashboard, stat, timeseries, variable

UID = "redis-fleet"
E = 'environment=~"$environment"'
# One panel per deployment-level recording rule (rules/redis.py), each
# series per environment and deployment: (title, unit, record).
DEPLOYMENT_SERIES = (
    ("Nodes up per deployment", "short", "job:redis_up:sum"),
    ("Commands per second", "ops", "job:redis_commands_processed:rate5m"),
    ("Fullest node, share of maxmemory", "percentunit", "job:redis_memory_used:ratio_maxmemory"),
    ("Keyspace hit ratio", "percentunit", "job:redis_keyspace_hits:ratio_rate5m"),
    ("Clients", "short", "job:redis_connected_clients:sum"),
    ("Evictions per second", "short", "job:redis_evicted_keys:rate5m"),
)


def build(spec: DashboardSpec):
    board = (
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
    )
    for title, unit, record in DEPLOYMENT_SERIES:
        board = board.with_panel(timeseries(spec, title, unit, (f"{record}{{{E}}}", "{{environment}}/{{deployment}}")))
    return board
