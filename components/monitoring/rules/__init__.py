"""Alerting and recording rules as data, one module per concern.

``render_rule_files`` gives the files the per-environment Prometheus mounts
under labels.PROMETHEUS_RULES_DIR; ``render_global_rule_files`` those of the
global (federating) Prometheus.
"""

from __future__ import annotations

from components.monitoring.rules import backup, capacity, containers, federation, haproxy, kubernetes, monitoring_backup, node, persistence, prometheus_self, redis, sentinel
from components.monitoring.rules.model import Alert, Record, RuleGroup, RulesSpec, alerts, render_rule_file

__all__ = [
    "Alert", "Record", "RuleGroup", "RulesSpec", "alerts", "render_rule_file",
    "rule_groups", "global_rule_groups", "render_rule_files", "render_global_rule_files",
]

_CONCERNS = {
    "redis.yml": redis.groups,
    "persistence.yml": persistence.groups,
    "sentinel.yml": sentinel.groups,
    "backup.yml": backup.groups,
    "capacity.yml": capacity.groups,
    "monitoring-backup.yml": monitoring_backup.groups,
    "kubernetes.yml": kubernetes.groups,
    "haproxy.yml": haproxy.groups,
    "node.yml": node.groups,
    "containers.yml": containers.groups,
    "prometheus-self.yml": prometheus_self.groups,
}


def rule_groups(spec: RulesSpec) -> dict[str, tuple[RuleGroup, ...]]:
    """File name -> rule groups for a per-environment Prometheus."""
    return {name: build(spec) for name, build in _CONCERNS.items()}


def global_rule_groups(spec: RulesSpec) -> dict[str, tuple[RuleGroup, ...]]:
    """File name -> rule groups for the global Prometheus."""
    # Federated series carry source_prometheus; the global server's own
    # targets do not.
    own = '{source_prometheus=""}'
    return {"federation.yml": federation.groups(spec), "prometheus-self.yml": prometheus_self.groups(spec, own)}


def render_rule_files(spec: RulesSpec) -> dict[str, str]:
    return {name: render_rule_file(g, spec) for name, g in rule_groups(spec).items()}


def render_global_rule_files(spec: RulesSpec) -> dict[str, str]:
    return {name: render_rule_file(g, spec) for name, g in global_rule_groups(spec).items()}
