"""Grafana dashboards as code (grafana-foundation-sdk), one module each.

``render_dashboards`` gives file name -> dashboard JSON for the
per-environment Grafana; ``render_global_dashboards`` for the global one.
"""

from __future__ import annotations

from components.monitoring.dashboards import containers, fleet, haproxy, nodes, redis
from components.monitoring.dashboards.common import DashboardSpec

__all__ = ["DashboardSpec", "render_dashboards", "render_global_dashboards"]


def render_dashboards(spec: DashboardSpec) -> dict[str, str]:
    return {
        "redis-overview.json": redis.render(spec),
        "nodes.json": nodes.render(spec),
        "containers.json": containers.render(spec),
        "haproxy.json": haproxy.render(spec),
    }


def render_global_dashboards(spec: DashboardSpec) -> dict[str, str]:
    return {"redis-fleet.json": fleet.render(spec)}
