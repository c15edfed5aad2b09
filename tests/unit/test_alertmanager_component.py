"""Alertmanager as the real program registers it: per-team webhooks and the
pager key only in its Secret, three gossiping replicas, every replica a
Prometheus target."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.conftest import BASE_CONFIG, run_with

PLATFORM = "https://hooks.slack.com/services/T000/B000/PLATFORMSECRET"
PAYMENTS = "https://hooks.slack.com/services/T000/B001/PAYMENTSSECRET"
PAGER = "PAGERDUTYROUTINGSECRET"


@pytest.fixture(scope="module")
def run():
    return run_with(BASE_CONFIG | {"monitoring": {"alertmanager": {
        "slackWebhookUrl": PLATFORM,
        "teamRoutes": [{"team": "payments", "slackChannel": "#payments", "slackWebhookUrl": PAYMENTS},
                       {"team": "web", "slackChannel": "#web"}],
        "pager": {"kind": "pagerduty", "key": PAGER},
    }}})


def test_webhooks_and_pager_key_are_files_of_the_secret(run):
    [secret] = run.k8s("Secret", "alertmanager-config")
    data = secret["stringData"]
    assert data["team-payments-webhook-url"] == PAYMENTS and data["pager-key"] == PAGER
    conf = yaml.safe_load(data["alertmanager.yml"])
    receivers = {r["name"]: r for r in conf["receivers"]}
    assert receivers["team-payments"]["slack_configs"][0]["api_url_file"] == \
        "/etc/alertmanager/secrets/team-payments-webhook-url"
    assert receivers["pager"]["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/secrets/pager-key"
    assert "team-web" not in receivers  # no webhook of its own: platform channels


def test_no_secret_outside_the_secret(run):
    everything_else = [m for m in run.kubernetes() if m["kind"] != "Secret"]
    text = json.dumps(everything_else) + json.dumps(run.outputs, default=str)
    for value in (PLATFORM, PAYMENTS, PAGER):
        assert value not in text
    [secret] = run.k8s("Secret", "alertmanager-config")
    assert all(v not in secret["stringData"]["alertmanager.yml"] for v in (PLATFORM, PAYMENTS, PAGER))


def test_three_replicas_gossip_and_prometheus_sends_to_each(run):
    [sts] = run.k8s("StatefulSet", "alertmanager")
    assert sts["spec"]["replicas"] == 3
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    peers = [a for a in args if a.startswith("--cluster.peer=")]
    assert peers == [f"--cluster.peer=alertmanager-{i}.alertmanager.monitoring.svc:9094" for i in range(3)]
    assert "--cluster.listen-address=0.0.0.0:9094" in args
    [svc] = run.k8s("Service", "alertmanager")
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    [cm] = run.k8s("ConfigMap", "prometheus-config")
    prom = yaml.safe_load(cm["data"]["prometheus.yml"])
    [am] = prom["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == [f"alertmanager-{i}.alertmanager.monitoring.svc:9093" for i in range(3)]


def test_bad_pager_kind_names_the_key():
    with pytest.raises(Exception, match=r"monitoring\.alertmanager\.pager\.kind"):
        run_with(BASE_CONFIG | {"monitoring": {"alertmanager": {"pager": {"kind": "sms", "key": "k"}}}})
