"""Containers, from cAdvisor (pod/namespace/container set by the cadvisor
job's metric relabeling)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, timeseries, to_json, variable

UID = "containers"
C = 'namespace=~"$namespace", pod=~"$pod", container!=""'
BY = "by (namespace, pod, container)"


def build(spec: DashboardSpec):
    return (
        new_dashboard(spec, UID, "Containers")
        .with_variable(variable(spec, "namespace", "label_values(container_cpu_usage_seconds_total, namespace)"))
        .with_variable(variable(spec, "pod", 'label_values(container_cpu_usage_seconds_total{namespace=~"$namespace"}, pod)'))
        .with_row(Row("CPU"))
        .with_panel(timeseries(spec, "CPU used", "short",
                               (f"sum {BY} (rate(container_cpu_usage_seconds_total{{{C}}}[{RATE}]))", "{{pod}}/{{container}}")))
        .with_panel(timeseries(spec, "CPU throttled share of periods", "percentunit",
                               (f"sum {BY} (rate(container_cpu_cfs_throttled_periods_total{{{C}}}[{RATE}])) / "
                                f"sum {BY} (rate(container_cpu_cfs_periods_total{{{C}}}[{RATE}]))", "{{pod}}/{{container}}")))
        .with_row(Row("Memory"))
        .with_panel(timeseries(spec, "Working set vs limit", "bytes",
                               (f"sum {BY} (container_memory_working_set_bytes{{{C}}})", "{{pod}}/{{container}} used"),
                               (f"max {BY} (container_spec_memory_limit_bytes{{{C}}} > 0)", "{{pod}}/{{container}} limit")))
        .with_panel(timeseries(spec, "OOM kills (1h)", "short",
                               (f"sum {BY} (increase(container_oom_events_total{{{C}}}[1h]))", "{{pod}}/{{container}}")))
        .with_row(Row("Network and disk"))
        .with_panel(timeseries(spec, "Network", "Bps",
                               (f'sum by (namespace, pod) (rate(container_network_receive_bytes_total{{namespace=~"$namespace", pod=~"$pod"}}[{RATE}]))', "{{pod}} in"),
                               (f'sum by (namespace, pod) (rate(container_network_transmit_bytes_total{{namespace=~"$namespace", pod=~"$pod"}}[{RATE}]))', "{{pod}} out")))
        .with_panel(timeseries(spec, "Filesystem usage", "bytes",
                               (f"sum {BY} (container_fs_usage_bytes{{{C}}})", "{{pod}}/{{container}}")))
    )


def render(spec: DashboardSpec) -> str:
    return to_json(build(spec))
