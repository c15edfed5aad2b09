"""Rule data types, the tunables they read, and the rule-file renderer.

Alert annotations use only two template forms, ``{{ $labels.<name> }}`` and
``{{ $value | printf "<fmt>" }}``, so a reader (and the rule unit tests) can
tell exactly what a notification will say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import yaml

SEVERITIES = ("critical", "warning", "info")
# The value in an annotation: a count, or a ratio to two places.
COUNT = '{{ $value | printf "%.0f" }}'
RATIO = '{{ $value | printf "%.2f" }}'
TEMPLATE = re.compile(r"\{\{ (\$labels\.[a-zA-Z_][a-zA-Z0-9_]*|\$value \| printf \"%[^\"]+\") \}\}")


@dataclass(frozen=True)
class RulesSpec:
    """Thresholds and durations the rule data reads."""

    # alert name -> `for` duration; e.g. a short RedisDown in a test.
    for_overrides: Mapping[str, str] = field(default_factory=dict)
    group_interval: str | None = None
    redis_memory_warning_ratio: float = 0.90
    redis_memory_critical_ratio: float = 0.97
    cpu_throttled_ratio: float = 0.25
    # Share of a PVC still free below which it is filling up / almost full.
    pvc_free_warning_ratio: float = 0.15
    pvc_free_critical_ratio: float = 0.05
    # How long RedisSentinelFailover stays up after the master changed.
    sentinel_failover_window: str = "15m"
    # Deployments whose backup Job must have succeeded recently (rules/backup.py).
    backups: tuple = ()
    # Monitoring servers whose backup sidecar pushes (rules/monitoring_backup.py)
    # and how old their last success may get.
    monitoring_backups: tuple[str, ...] = ()
    monitoring_backup_max_age: int | None = None
    # Cluster shard advice (rules/capacity.py): memory as a share of
    # maxmemory, CPU in cores per master, and how long before it alerts.
    shard_memory_target_ratio: float = 0.7
    shard_cpu_target_cores: float = 0.7
    shard_advice_for: str = "30m"
    fs_predict_window: str = "6h"
    fs_predict_horizon_hours: int = 24
    fs_almost_full_ratio: float = 0.05
    node_memory_available_ratio: float = 0.10
    # Scrape job names of the lower Prometheus servers on the global one.
    federate_job_regex: str = "federate-.+"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity {self.severity!r} not in {SEVERITIES}")
        for text in (self.summary, self.description):
            leftover = TEMPLATE.sub("", text)
            if "{{" in leftover:
                raise ValueError(f"{self.name}: unsupported template in {text!r}")


@dataclass(frozen=True)
class Level:
    """One level of a graded alert: where it starts, how long it must hold,
    and what it says."""

    threshold: float
    for_: str
    summary: str
    description: str


def graded(name: str, value: str, warning: Level, critical: Level, *, falling: bool = False,
           wrap: Callable[[str], str] = str) -> tuple[Alert, Alert]:
    """A warning and a critical alert of one name on ``value``. The warning
    holds only between the two thresholds, so a page never arrives with a
    warning for the same cause beside it. ``falling``: the value alarms as it
    drops (free space), not as it climbs. ``wrap`` dresses each whole
    expression (a join that adds routing labels)."""
    beyond, short_of = ("<", ">=") if falling else (">", "<=")
    if not (critical.threshold < warning.threshold if falling else warning.threshold < critical.threshold):
        raise ValueError(f"{name}: the warning threshold {warning.threshold} must come before the critical "
                         f"{critical.threshold}")
    band = f"{value} {beyond} {warning.threshold} and {value} {short_of} {critical.threshold}"
    return (
        Alert(name, wrap(band), warning.for_, "warning", warning.summary, warning.description),
        Alert(name, wrap(f"{value} {beyond} {critical.threshold}"), critical.for_, "critical", critical.summary,
              critical.description),
    )


@dataclass(frozen=True)
class Record:
    record: str
    expr: str

    def __post_init__(self) -> None:
        # level:metric:operations
        if self.record.count(":") != 2:
            raise ValueError(f"recording rule {self.record!r} is not named level:metric:operation")


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Alert | Record, ...]


def alerts(groups: tuple[RuleGroup, ...]) -> list[Alert]:
    return [r for g in groups for r in g.rules if isinstance(r, Alert)]


def _rule_dict(rule: Alert | Record, spec: RulesSpec) -> dict:
    if isinstance(rule, Record):
        return {"record": rule.record, "expr": rule.expr}
    out: dict = {"alert": rule.name, "expr": rule.expr}
    duration = spec.for_overrides.get(rule.name, rule.for_)
    if duration not in ("", "0s", "0m"):
        out["for"] = duration
    out["labels"] = {"severity": rule.severity}
    out["annotations"] = {"summary": rule.summary, "description": rule.description}
    return out


def build_rule_file(groups: tuple[RuleGroup, ...], spec: RulesSpec) -> dict:
    out = []
    for g in groups:
        group: dict = {"name": g.name}
        if spec.group_interval:
            group["interval"] = spec.group_interval
        group["rules"] = [_rule_dict(r, spec) for r in g.rules]
        out.append(group)
    return {"groups": out}


def render_rule_file(groups: tuple[RuleGroup, ...], spec: RulesSpec) -> str:
    return yaml.safe_dump(build_rule_file(groups, spec), sort_keys=False, width=1000)
