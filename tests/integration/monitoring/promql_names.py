"""Metric names a PromQL expression (or a Grafana label_values query) reads.

A small scanner, enough for the queries this project writes: it drops
strings, label matchers, range selectors and label lists, then keeps the
identifiers that are neither functions nor keywords.
"""

from __future__ import annotations

import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
            "inf", "nan", "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk",
            "quantile", "count_values"}
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*\w+\)$")


def metric_names(expr: str) -> set[str]:
    m = _LABEL_VALUES.match(expr.strip())
    if m:
        expr = m.group(1)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", e)
    found = re.findall(r"(?<![\w$:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", e)
    return {n for n in found if n.lower() not in KEYWORDS}


def dashboard_queries(dashboard: dict) -> list[str]:
    """Every panel target expr and every query variable's query."""
    out = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets") or []:
            out.append(target["expr"])
        for sub in panel.get("panels") or []:
            out += [t["expr"] for t in sub.get("targets") or []]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var["query"]
            out.append(q if isinstance(q, str) else q["query"])
    return out


def dashboard_targets(dashboard: dict) -> list[tuple[str | None, dict, dict]]:
    """(title of the row above, panel, target) of every panel target, in order."""
    out, row = [], None
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            row = panel.get("title")
            continue
        out += [(row, panel, t) for t in panel.get("targets") or []]
    return out


# cAdvisor is not packaged in Debian, so its names cannot be read from a live
# /metrics here. These are the names the dashboards and alerts use, checked
# against the table in google/cadvisor docs/storage/prometheus.md, except
# container_oom_events_total: the table omits it, cAdvisor exports it since
# v0.39 (metric kind oom_event, metrics/prometheus.go).
CADVISOR_DOCUMENTED = {
    "container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
    "container_memory_working_set_bytes", "container_spec_memory_limit_bytes", "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total", "container_fs_usage_bytes", "container_oom_events_total",
}
