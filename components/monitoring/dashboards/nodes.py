"""Nodes, from node-exporter (the node label comes from the scrape job).

Node panels are per node; which deployments' pods a node runs (what a busy
or full node puts at risk) comes from kube-state-metrics' kube_pod_info,
joined to the deployment of each pod like the containers dashboard."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, timeseries, variable
from components.monitoring.dashboards.containers import POD_DEPLOYMENT

UID = "nodes"
N = 'node=~"$node"'
FS = f'{N}, fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"'


def build(spec: DashboardSpec):
    return (
        new_dashboard(spec, UID, "Nodes")
        .with_variable(variable(spec, "node", "label_values(node_uname_info, node)"))
        .with_row(Row("CPU and memory"))
        .with_panel(timeseries(spec, "CPU busy", "percentunit",
                               (f'1 - avg by (node) (rate(node_cpu_seconds_total{{{N}, mode="idle"}}[{RATE}]))', "{{node}}")))
        .with_panel(timeseries(spec, "Load (1m) per CPU", "short",
                               (f'node_load1{{{N}}} / on(instance) group_left count by (instance) '
                                f'(node_cpu_seconds_total{{{N}, mode="idle"}})', "{{node}}")))
        .with_panel(timeseries(spec, "Memory available", "percentunit",
                               (f"node_memory_MemAvailable_bytes{{{N}}} / node_memory_MemTotal_bytes{{{N}}}", "{{node}}")))
        .with_panel(timeseries(spec, "Major page faults", "ops",
                               (f"rate(node_vmstat_pgmajfault{{{N}}}[{RATE}])", "{{node}}")))
        .with_panel(timeseries(spec, "Pods of each Redis deployment on the node", "short",
                               (f'count by (node, deployment) (kube_pod_info{{{N}}} * on (namespace, pod) group_left(deployment) '
                                f'{POD_DEPLOYMENT})', "{{node}} {{deployment}}")))
        .with_row(Row("Disk and network"))
        .with_panel(timeseries(spec, "Filesystem free", "percentunit",
                               (f"node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}",
                                "{{node}} {{mountpoint}}")))
        .with_panel(timeseries(spec, "Disk busy", "percentunit",
                               (f"rate(node_disk_io_time_seconds_total{{{N}}}[{RATE}])", "{{node}} {{device}}")))
        .with_panel(timeseries(spec, "Network received", "Bps",
                               (f'rate(node_network_receive_bytes_total{{{N}, device!="lo"}}[{RATE}])', "{{node}} {{device}}")))
        .with_panel(timeseries(spec, "Network sent", "Bps",
                               (f'rate(node_network_transmit_bytes_total{{{N}, device!="lo"}}[{RATE}])', "{{node}} {{device}}")))
    )
