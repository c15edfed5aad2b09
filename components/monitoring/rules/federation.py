"""Alerts for the global (federating) Prometheus, on federated series."""

from __future__ import annotations

from components.monitoring.rules.model import COUNT, Alert, RuleGroup, RulesSpec

WHERE = "deployment {{ $labels.deployment }} (team {{ $labels.team }}) in {{ $labels.environment }}"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    return (
        RuleGroup(
            "federation-alerts",
            (
                # `up` of a federate target is the global server's own series:
                # without this it would carry the global external label and
                # read as a fleet problem, not the lower environment's.
                Alert("FederatedPrometheusDown",
                      f'label_replace(up{{job=~"{spec.federate_job_regex}"}} == 0, "environment", "$1", '
                      f'"source_prometheus", "(.+)")', "5m", "critical",
                      "Prometheus {{ $labels.source_prometheus }} is unreachable",
                      "The global Prometheus cannot federate from {{ $labels.source_prometheus }} "
                      "({{ $labels.instance }}); its environment is unmonitored from here."),
                Alert("RedisDeploymentDown", "job:redis_up:sum == 0", "2m", "critical",
                      "Redis deployment {{ $labels.deployment }} is down in {{ $labels.environment }}",
                      f"No node of {WHERE} answers its exporter."),
                Alert("RedisDeploymentDegraded", "job:redis_up:sum > 0 and job:redis_up:sum < job:redis_up:count",
                      "5m", "warning", "Redis deployment {{ $labels.deployment }} lost nodes in {{ $labels.environment }}",
                      f"Only {COUNT} nodes of {WHERE} are up."),
            ),
        ),
    )
