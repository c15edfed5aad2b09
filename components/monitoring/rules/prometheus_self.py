"""Alerts on Prometheus itself and on its targets."""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec


def groups(spec: RulesSpec, up_selector: str = "") -> tuple[RuleGroup, ...]:
    """``up_selector`` narrows the target-down alert, e.g. on the global
    Prometheus to its own targets (the lower ones alert on theirs)."""
    return (
        RuleGroup(
            "prometheus-alerts",
            (
                Alert("PrometheusTargetDown", f"up{up_selector} == 0", "5m", "warning",
                      "Target {{ $labels.instance }} of job {{ $labels.job }} is down",
                      "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}, pod {{ $labels.pod }})."),
                Alert("PrometheusConfigReloadFailed", "prometheus_config_last_reload_successful == 0", "10m",
                      "warning", "Prometheus configuration reload failed",
                      "Prometheus {{ $labels.instance }} keeps running its previous configuration."),
                Alert("PrometheusRuleEvaluationFailures", "increase(prometheus_rule_evaluation_failures_total[5m]) > 0",
                      "15m", "critical", "Prometheus fails to evaluate rules",
                      "{{ $value | printf \"%.0f\" }} evaluations of rule group {{ $labels.rule_group }} failed in 5m; "
                      "alerts may be missed."),
                Alert("PrometheusAlertmanagerMissing", "prometheus_notifications_alertmanagers_discovered < 1", "10m",
                      "critical", "Prometheus has no Alertmanager",
                      "Prometheus {{ $labels.instance }} is connected to no Alertmanager; alerts go nowhere."),
            ),
        ),
    )
