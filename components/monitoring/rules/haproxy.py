"""HAProxy alerts, from HAProxy's built-in Prometheus exporter."""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    return (
        RuleGroup(
            "haproxy-alerts",
            (
                # In front of a Sentinel set the backend's health check keeps
                # only the node answering role:master; none up means no writes.
                Alert("HAProxyBackendNoServer", "haproxy_backend_active_servers == 0", "1m", "critical",
                      "HAProxy backend {{ $labels.proxy }} has no server up",
                      "Backend {{ $labels.proxy }} on {{ $labels.pod }} of deployment {{ $labels.deployment }} "
                      "(team {{ $labels.team }}) has no active server; clients cannot reach the Redis master."),
            ),
        ),
    )
