"""Container alerts from cAdvisor (labels pod/namespace/container come from
the cadvisor job's metric relabeling)."""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

BY = "by (namespace, pod, container)"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    throttled = (
        f'sum {BY} (increase(container_cpu_cfs_throttled_periods_total{{container!=""}}[5m])) / '
        f'sum {BY} (increase(container_cpu_cfs_periods_total{{container!=""}}[5m]))'
    )
    return (
        RuleGroup(
            "container-alerts",
            (
                Alert("ContainerOOMKilled", 'increase(container_oom_events_total{container!=""}[5m]) > 0', "0m",
                      "warning", "Container {{ $labels.container }} in {{ $labels.pod }} was OOM-killed",
                      "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} hit its memory "
                      "limit {{ $value | printf \"%.0f\" }} times in 5m; for Redis check maxmemory against the limit."),
                Alert("ContainerCPUThrottled", f"{throttled} > {spec.cpu_throttled_ratio}", "15m", "warning",
                      "Container {{ $labels.container }} in {{ $labels.pod }} is CPU-throttled",
                      "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} was throttled in "
                      "{{ $value | printf \"%.2f\" }} of its CPU periods; latency rises."),
            ),
        ),
    )
