"""`amtool config routes test` on the generated alertmanager.yml: for every
team's label set and severity, the receivers an alert reaches, each exactly
once, and never two Slack receivers posting through the same webhook (one
webhook is one channel: that would be the same message twice)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from components.monitoring.alertmanager_config import AlertmanagerSpec, Pager, TeamRoute, render_alertmanager_config
from tests.integration.procs import require

pytestmark = pytest.mark.integration

SECRETS = "/etc/alertmanager/secrets"
TEAMS = (TeamRoute("payments", "#payments-redis", f"{SECRETS}/team-payments-webhook-url"),
         TeamRoute("search", "#search-oncall", f"{SECRETS}/team-search-webhook-url"),
         # No webhook of its own: its alerts go to the platform's channels.
         TeamRoute("legacy", "#legacy"))

# (labels, receivers with a pager, receivers without one)
EXPECTED = [
    ({"team": "payments", "severity": "warning"}, ["team-payments"], ["team-payments"]),
    ({"team": "payments", "severity": "critical"}, ["pager", "team-payments", "platform-critical"],
     ["team-payments", "platform-critical"]),
    ({"team": "search", "severity": "warning"}, ["team-search"], ["team-search"]),
    ({"team": "search", "severity": "critical"}, ["pager", "team-search", "platform-critical"],
     ["team-search", "platform-critical"]),
    ({"team": "legacy", "severity": "warning"}, ["platform"], ["platform"]),
    ({"team": "legacy", "severity": "critical"}, ["pager", "platform-critical"], ["platform-critical"]),
    ({"severity": "warning"}, ["platform"], ["platform"]),
    ({"severity": "critical"}, ["pager", "platform-critical"], ["platform-critical"]),
    ({"severity": "info"}, ["platform"], ["platform"]),
    ({"team": "unknown", "severity": "critical"}, ["pager", "platform-critical"], ["platform-critical"]),
]


def _routes(conf_path, labels: dict[str, str]) -> list[str]:
    argv = [require("amtool"), "config", "routes", "test", f"--config.file={conf_path}",
            "alertname=RedisDown", "deployment=orders", "environment=prod", *(f"{k}={v}" for k, v in labels.items())]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(",")


@pytest.mark.parametrize("pager", [True, False], ids=["with-pager", "slack-only"])
def test_each_alert_reaches_its_receivers_once(tmp_path, pager):
    spec = AlertmanagerSpec(default_channel="#redis-platform", critical_channel="#redis-platform-critical",
                            critical_api_url_file=f"{SECRETS}/platform-critical-webhook-url", teams=TEAMS,
                            pager=Pager("pagerduty", f"{SECRETS}/pager-key") if pager else None)
    text = render_alertmanager_config(spec)
    conf = tmp_path / "alertmanager.yml"
    conf.write_text(text)
    check = subprocess.run([require("amtool"), "check-config", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    webhook = {r["name"]: r["slack_configs"][0]["api_url_file"] for r in yaml.safe_load(text)["receivers"]
               if "slack_configs" in r}
    for labels, with_pager, slack_only in EXPECTED:
        got = _routes(conf, labels)
        assert got == (with_pager if pager else slack_only), labels
        assert len(got) == len(set(got)), labels
        files = [webhook[r] for r in got if r in webhook]
        assert len(files) == len(set(files)), (labels, files)
    print(f"{len(EXPECTED)} label sets routed as expected ({'with' if pager else 'without'} a pager)")


def test_opsgenie_pager_is_valid(tmp_path):
    conf = tmp_path / "alertmanager.yml"
    conf.write_text(render_alertmanager_config(AlertmanagerSpec(pager=Pager("opsgenie", f"{SECRETS}/pager-key"))))
    check = subprocess.run([require("amtool"), "check-config", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _routes(conf, {"severity": "critical"}) == ["pager", "platform-critical"]
