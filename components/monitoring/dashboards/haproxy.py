"""HAProxy front ends of Sentinel deployments, from HAProxy's own exporter."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.rules.haproxy import WRITE_CANDIDATES
from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, stat, timeseries, variable

UID = "haproxy"
D = 'deployment=~"$deployment"'


def build(spec: DashboardSpec):
    return (
        new_dashboard(spec, UID, "HAProxy")
        .with_variable(variable(spec, "deployment", "label_values(haproxy_process_uptime_seconds, deployment)"))
        .with_row(Row("Backends"))
        # Most backends are empty by design (no_master, the per-node backends
        # of every non-master); what tells health is one write candidate per pod.
        .with_panel(stat(spec, "Nodes taking writes (want 1 per pod)", "none",
                         (f"{WRITE_CANDIDATES}{{{D}}}", "{{deployment}} {{pod}}")))
        .with_panel(timeseries(spec, "Active servers per backend", "short",
                               (f"haproxy_backend_active_servers{{{D}}}", "{{deployment}} {{pod}} {{proxy}}")))
        .with_panel(timeseries(spec, "Servers up", "short",
                               (f'haproxy_server_status{{{D}, state="UP"}} == 1', "{{deployment}} {{pod}} {{proxy}}/{{server}}")))
        .with_panel(timeseries(spec, "Health check failures", "short",
                               (f"increase(haproxy_server_check_failures_total{{{D}}}[{RATE}])", "{{deployment}} {{pod}} {{server}}")))
        .with_row(Row("Traffic"))
        .with_panel(timeseries(spec, "Frontend connections per second", "cps",
                               (f"rate(haproxy_frontend_connections_total{{{D}}}[{RATE}])", "{{deployment}} {{pod}} {{proxy}}")))
        .with_panel(timeseries(spec, "Current sessions", "short",
                               (f"haproxy_frontend_current_sessions{{{D}}}", "{{deployment}} {{pod}} {{proxy}} frontend"),
                               (f"haproxy_backend_current_sessions{{{D}}}", "{{deployment}} {{pod}} {{proxy}} backend")))
        .with_panel(timeseries(spec, "Backend connection errors", "short",
                               (f"rate(haproxy_backend_connection_errors_total{{{D}}}[{RATE}])", "{{deployment}} {{pod}} {{proxy}}")))
        .with_panel(timeseries(spec, "Bytes", "Bps",
                               (f"rate(haproxy_frontend_bytes_in_total{{{D}}}[{RATE}])", "{{deployment}} {{pod}} {{proxy}} in"),
                               (f"rate(haproxy_frontend_bytes_out_total{{{D}}}[{RATE}])", "{{deployment}} {{pod}} {{proxy}} out")))
    )
