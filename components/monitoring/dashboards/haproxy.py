"""HAProxy front ends of Sentinel deployments, from HAProxy's own exporter."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.rules.haproxy import WRITE_CANDIDATES
from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, sel, stat, timeseries, variable

UID = "haproxy"
# One front end pod's series, and (most panels) one proxy of it.
D = 'deployment=~"$deployment"'
POD = "{{deployment}} {{pod}}"
PROXY = f"{POD} {{{{proxy}}}}"


def _rate(metric: str) -> str:
    return f"rate({sel(metric, D)}[{RATE}])"


def build(spec: DashboardSpec):
    return (
        new_dashboard(spec, UID, "HAProxy")
        .with_variable(variable(spec, "deployment", "label_values(haproxy_process_uptime_seconds, deployment)"))
        .with_row(Row("Backends"))
        # Most backends are empty by design (no_master, the per-node backends
        # of every non-master); what tells health is one write candidate per pod.
        .with_panel(stat(spec, "Nodes taking writes (want 1 per pod)", "none", (sel(WRITE_CANDIDATES, D), POD)))
        .with_panel(timeseries(spec, "Active servers per backend", "short", (sel("haproxy_backend_active_servers", D), PROXY)))
        .with_panel(timeseries(spec, "Servers up", "short",
                               (sel("haproxy_server_status", f'{D}, state="UP"') + " == 1", f"{PROXY}/{{{{server}}}}")))
        .with_panel(timeseries(spec, "Health check failures", "short",
                               (f"increase({sel('haproxy_server_check_failures_total', D)}[{RATE}])", f"{POD} {{{{server}}}}")))
        .with_row(Row("Traffic"))
        .with_panel(timeseries(spec, "Frontend connections per second", "cps", (_rate("haproxy_frontend_connections_total"), PROXY)))
        .with_panel(timeseries(spec, "Current sessions", "short", (sel("haproxy_frontend_current_sessions", D), f"{PROXY} frontend"),
                               (sel("haproxy_backend_current_sessions", D), f"{PROXY} backend")))
        .with_panel(timeseries(spec, "Backend connection errors", "short", (_rate("haproxy_backend_connection_errors_total"), PROXY)))
        .with_panel(timeseries(spec, "Bytes", "Bps", (_rate("haproxy_frontend_bytes_in_total"), f"{PROXY} in"),
                               (_rate("haproxy_frontend_bytes_out_total"), f"{PROXY} out")))
    )
