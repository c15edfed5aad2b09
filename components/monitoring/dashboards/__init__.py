"""Grafana dashboards as code (grafana-foundation-sdk), one module each.

Each module has a ``UID`` and ``build(spec)``; the file a Grafana loads is
named by the UID. ``render_dashboards`` gives file name -> dashboard JSON for
the per-environment Grafana; ``render_global_dashboards`` for the global one.
"""

from __future__ import annotations

from types import ModuleType

from components.monitoring.dashboards import containers, fleet, haproxy, nodes, redis
from components.monitoring.dashboards.common import DashboardSpec, to_json

__all__ = ["DashboardSpec", "render_dashboards", "render_global_dashboards"]


def _render(spec: DashboardSpec, *modules: ModuleType) -> dict[str, str]:
    return {f"{m.UID}.json": to_json(m.build(spec)) for m in modules}


def render_dashboards(spec: DashboardSpec) -> dict[str, str]:
    return _render(spec, redis, nodes, containers, haproxy)


def render_global_dashboards(spec: DashboardSpec) -> dict[str, str]:
    return _render(spec, fleet)
