"""Shared pieces for dashboards built with grafana-foundation-sdk."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh, VariableSort

RATE = "$__rate_interval"


@dataclass(frozen=True)
class DashboardSpec:
    datasource_uid: str = "prometheus"
    refresh: str = "30s"
    time_from: str = "now-6h"
    tags: tuple[str, ...] = ("redis-platform",)
    # Job names of the lower Prometheus servers on the global one.
    federate_job_regex: str = "federate-.+"


def sel(metric: str, where: str) -> str:
    """``metric`` with the label matchers ``where`` (a dashboard's variables)."""
    return f"{metric}{{{where}}}"


def datasource(spec: DashboardSpec) -> DataSourceRef:
    return DataSourceRef(type_val="prometheus", uid=spec.datasource_uid)


def new_dashboard(spec: DashboardSpec, uid: str, title: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .tags(list(spec.tags))
        .refresh(spec.refresh)
        .time(spec.time_from, "now")
        .timezone("browser")
    )


def variable(spec: DashboardSpec, name: str, query: str, include_all: bool = True) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(name)
        .datasource(datasource(spec))
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(include_all)
        .all_value(".*")
    )


def _targets(queries: tuple[tuple[str, str], ...]) -> list[Dataquery]:
    return [Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]


def timeseries(spec: DashboardSpec, title: str, unit: str, *queries: tuple[str, str], width: int = 12) -> Timeseries:
    return Timeseries().title(title).datasource(datasource(spec)).unit(unit).span(width).targets(_targets(queries))


def stat(spec: DashboardSpec, title: str, unit: str, *queries: tuple[str, str], width: int = 6) -> Stat:
    return Stat().title(title).datasource(datasource(spec)).unit(unit).span(width).height(4).targets(_targets(queries))


def to_json(builder: Dashboard) -> str:
    """Dashboard JSON with panel ids numbered (the SDK leaves them 0)."""
    model = builder.build()
    for i, panel in enumerate(model.panels or [], start=1):
        panel.id_val = i
    return JSONEncoder(sort_keys=True, indent=2).encode(model)
