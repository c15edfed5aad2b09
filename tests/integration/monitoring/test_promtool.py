"""promtool/amtool accept the generated configs and rules, and every alert
passes a `promtool test rules` unit test: it fires on series that should
trip it (with the expected labels and annotation text) and stays silent on
a healthy system."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from components.monitoring.alertmanager_config import AlertmanagerSpec, TeamRoute, render_alertmanager_config
from components.monitoring.federation_config import FederationSpec, LowerPrometheus, render_federation_config
from components.monitoring.prometheus_config import RemoteWrite, StaticJob, render_prometheus_config
from components.monitoring.rules import (RulesSpec, alerts, global_rule_groups, render_global_rule_files,
                                         render_rule_files, rule_groups)
from tests.integration.monitoring.alert_cases import GLOBAL_CASES, LOWER_CASES, LOWER_SPEC, Case
from tests.integration.monitoring.helpers import loopback_spec, redis_pod, write_files
from tests.integration.procs import require

pytestmark = pytest.mark.integration


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
    print(result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_promtool_accepts_prometheus_config_and_rules(tmp_path):
    rules_dir = write_files(tmp_path / "rules", render_rule_files(LOWER_SPEC))
    (tmp_path / "rw-password").write_text("not-a-real-password\n")
    spec = loopback_spec(
        environment="dev", prometheus_ip="127.0.0.120", rules_dir=rules_dir,
        pods=[redis_pod("127.0.0.121", "cache-0", "cache", "payments")], node_exporters=["127.0.0.121:9100"],
        pushgateways=["127.0.0.121:9091"],
        static_jobs=(StaticJob("django", ("127.0.0.122:8000",), scrape_interval="5s"),),
        remote_write=(RemoteWrite("http://127.0.0.123:9201/write", username="writer",
                                  password_file=str(tmp_path / "rw-password")),),
    )
    conf = tmp_path / "prometheus.yml"
    conf.write_text(render_prometheus_config(spec))
    result = run([require("promtool"), "check", "config", str(conf)])
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout + result.stderr
    result = run([require("promtool"), "check", "rules", *sorted(str(p) for p in rules_dir.glob("*.yml"))])
    assert result.returncode == 0


def test_promtool_accepts_federation_config_and_global_rules(tmp_path):
    rules_dir = write_files(tmp_path / "rules", render_global_rule_files(RulesSpec()))
    (tmp_path / "fed-password").write_text("x\n")
    spec = FederationSpec(
        lower=(LowerPrometheus("dev", ("127.0.0.124:9090",)),
               LowerPrometheus("prod", ("127.0.0.125:9090",), scheme="https", username="federate",
                               password_file=str(tmp_path / "fed-password"), server_name="prometheus.prod")),
        rule_files=(f"{rules_dir}/*.yml",), alertmanager_targets=("127.0.0.126:9093",),
    )
    conf = tmp_path / "global.yml"
    conf.write_text(render_federation_config(spec))
    assert run([require("promtool"), "check", "config", str(conf)]).returncode == 0
    assert run([require("promtool"), "check", "rules", *sorted(str(p) for p in rules_dir.glob("*.yml"))]).returncode == 0


def test_amtool_accepts_alertmanager_config(tmp_path):
    spec = AlertmanagerSpec(teams=(TeamRoute("payments", "#payments-redis", "/etc/alertmanager/secrets/payments-url"),
                                   TeamRoute("search", "#search-oncall")))
    conf = tmp_path / "alertmanager.yml"
    conf.write_text(render_alertmanager_config(spec))
    result = run([require("amtool"), "check-config", str(conf)])
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout


TEMPLATE = re.compile(r"\{\{ (?:\$labels\.(\w+)|\$value \| printf \"(%[^\"]+)\") \}\}")


def expand(text: str, labels: dict[str, str], value: float) -> str:
    """The two template forms the rules are restricted to (see rules.model)."""
    return TEMPLATE.sub(lambda m: labels.get(m.group(1), "") if m.group(1) else m.group(2) % value, text)


def _test_groups(cases: list[Case], groups_by_file: dict) -> list[dict]:
    rules = {(a.name, a.severity): a for g in groups_by_file.values() for a in alerts(g)}
    tests = []
    for case in cases:
        rule = rules[(case.alert, case.severity)]
        exp = {
            "exp_labels": {**case.labels, "severity": case.severity},
            "exp_annotations": {"summary": expand(rule.summary, case.labels, case.value),
                                "description": expand(rule.description, case.labels, case.value)},
        }
        runs = [("trip", case.trip, [exp]), ("healthy", case.healthy, [])]
        runs += [(f"healthy-{i + 2}", h, []) for i, h in enumerate(case.also_healthy)]
        for kind, series, expected in runs:
            tests.append({
                "name": f"{case.alert}/{case.severity}/{kind}",
                "interval": case.interval,
                "input_series": [{"series": k, "values": v} for k, v in series.items()],
                "alert_rule_test": [{"eval_time": case.eval_time, "alertname": case.alert, "exp_alerts": expected}],
            })
    return tests


def run_rule_tests(tmp_path: Path, files: dict[str, str], groups_by_file: dict, cases: list[Case],
                   promtool: str | None = None) -> None:
    """Every alert's cases under ``promtool test rules`` (Debian's, or another
    build: the end-to-end tier passes Prometheus 3's)."""
    covered = {(c.alert, c.severity) for c in cases}
    defined = {(a.name, a.severity) for g in groups_by_file.values() for a in alerts(g)}
    assert defined == covered, f"alerts without a case: {defined - covered}; cases without an alert: {covered - defined}"
    write_files(tmp_path, files)
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": sorted(files), "evaluation_interval": "1m",
                                         "tests": _test_groups(cases, groups_by_file)}, sort_keys=False, width=1000))
    result = run([promtool or require("promtool"), "test", "rules", test_file.name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    groups = sum(2 + len(c.also_healthy) for c in cases)
    print(f"{len(cases)} alert cases, {groups} promtool test groups passed")


def test_every_lower_alert_fires_when_it_should_and_only_then(tmp_path):
    spec = LOWER_SPEC
    run_rule_tests(tmp_path, render_rule_files(spec), rule_groups(spec), LOWER_CASES)


def test_every_global_alert_fires_when_it_should_and_only_then(tmp_path):
    spec = RulesSpec()
    run_rule_tests(tmp_path, render_global_rule_files(spec), global_rule_groups(spec), GLOBAL_CASES)
