"""Containers, from cAdvisor (pod/namespace/container set by the cadvisor
job's metric relabeling).

cAdvisor knows pods, not deployments: every query is joined to
``POD_DEPLOYMENT`` so each legend names the Redis deployment of the pod
(empty for the monitoring stack's own pods, which belong to none).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Row

from components.monitoring.dashboards.common import RATE, DashboardSpec, new_dashboard, timeseries, variable
from components.monitoring.labels import DEPLOYMENT

UID = "containers"
C = 'namespace=~"$namespace", pod=~"$pod", container!=""'
BY = "by (namespace, pod, container)"
# (namespace, pod) -> deployment, one series of value 1 per pod: from the pods
# Prometheus scrapes (their app.kubernetes.io/instance label) and, with
# kube-state-metrics, from every pod carrying redis-platform/deployment
# (Jobs, pods not scraped). Both labels hold the deployment's name.
POD_DEPLOYMENT = (
    f'group by (namespace, pod, {DEPLOYMENT}) (up{{job="kubernetes-pods", {DEPLOYMENT}!=""}} or '
    f'label_replace(kube_pod_labels{{label_redis_platform_deployment!=""}}, "{DEPLOYMENT}", "$1", '
    '"label_redis_platform_deployment", "(.+)"))'
)
POD = "{{deployment}} {{pod}}"
CONTAINER = "{{deployment}} {{pod}}/{{container}}"


def with_deployment(expr: str, by: str = "namespace, pod, container") -> str:
    """``expr`` (one series per ``by``) with a ``deployment`` label where the
    pod belongs to one; pods of no deployment keep their series, unlabelled."""
    return f"(({expr}) * on (namespace, pod) group_left({DEPLOYMENT}) {POD_DEPLOYMENT}) or on ({by}) ({expr})"


def build(spec: DashboardSpec):
    net_sel = 'namespace=~"$namespace", pod=~"$pod"'
    return (
        new_dashboard(spec, UID, "Containers")
        .with_variable(variable(spec, "namespace", "label_values(container_cpu_usage_seconds_total, namespace)"))
        .with_variable(variable(spec, "pod", 'label_values(container_cpu_usage_seconds_total{namespace=~"$namespace"}, pod)'))
        .with_row(Row("CPU"))
        .with_panel(timeseries(spec, "CPU used", "short",
                               (with_deployment(f"sum {BY} (rate(container_cpu_usage_seconds_total{{{C}}}[{RATE}]))"), CONTAINER)))
        .with_panel(timeseries(spec, "CPU throttled share of periods", "percentunit",
                               (with_deployment(f"sum {BY} (rate(container_cpu_cfs_throttled_periods_total{{{C}}}[{RATE}])) / "
                                                f"sum {BY} (rate(container_cpu_cfs_periods_total{{{C}}}[{RATE}]))"), CONTAINER)))
        .with_row(Row("Memory"))
        .with_panel(timeseries(spec, "Working set vs limit", "bytes",
                               (with_deployment(f"sum {BY} (container_memory_working_set_bytes{{{C}}})"), f"{CONTAINER} used"),
                               (with_deployment(f"max {BY} (container_spec_memory_limit_bytes{{{C}}} > 0)"), f"{CONTAINER} limit")))
        .with_panel(timeseries(spec, "OOM kills (1h)", "short",
                               (with_deployment(f"sum {BY} (increase(container_oom_events_total{{{C}}}[1h]))"), CONTAINER)))
        .with_row(Row("Network and disk"))
        .with_panel(timeseries(spec, "Network", "Bps",
                               (with_deployment(f"sum by (namespace, pod) (rate(container_network_receive_bytes_total{{{net_sel}}}[{RATE}]))",
                                                "namespace, pod"), f"{POD} in"),
                               (with_deployment(f"sum by (namespace, pod) (rate(container_network_transmit_bytes_total{{{net_sel}}}[{RATE}]))",
                                                "namespace, pod"), f"{POD} out")))
        .with_panel(timeseries(spec, "Filesystem usage", "bytes",
                               (with_deployment(f"sum {BY} (container_fs_usage_bytes{{{C}}})"), CONTAINER)))
    )
