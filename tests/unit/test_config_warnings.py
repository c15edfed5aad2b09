"""Legal but likely wrong: one ``config warning:`` line each, from the one
path both entry points share; the committed stacks render with only the
warnings their stack files explain."""

from __future__ import annotations

import pytest

from stacks.config.check import check_config
from stacks.render import main as render_main
from tests.unit.bad_config_cases import CLUSTER, GOOD, SENTINEL, apply
from tests.unit.conftest import ROOT, run_stack_file, to_runtime

SECRET = {"redis-platform:monitoring"}
W = "config warning: redis-platform:"


def warnings_of(changes: dict, secret_keys=frozenset(SECRET)) -> tuple[str, ...]:
    return check_config(to_runtime(apply(GOOD, changes)), secret_keys).warnings


def test_good_config_has_none():
    assert warnings_of({}) == ()


@pytest.mark.parametrize("changes, line", [
    ({"deployments[0].sentinel": {"replicas": 3}}, f"{W}deployments[0].sentinel: is ignored: the deployment's mode is cluster"),
    ({"deployments[0].haproxy": {"replicas": 3}}, f"{W}deployments[0].haproxy: is ignored: the deployment's mode is cluster"),
    ({"deployments[1].cluster": {"shards": 5}}, f"{W}deployments[1].cluster: is ignored: the deployment's mode is sentinel"),
    ({"monitoring.alertmanager.teamRoutes": [{"team": "payments", "slackChannel": "#p"}]},
     f"{W}monitoring.alertmanager.teamRoutes[0].team: no deployment has team 'payments' (teams: web); the route never matches"),
    ({"monitoring.grafana.loadBalancerSourceRanges": ["10.0.0.0/8"]},
     f"{W}monitoring.grafana.loadBalancerSourceRanges: is ignored: serviceType is ClusterIP, not LoadBalancer"),
    ({"deployments[1].haproxy": {"serviceType": "NodePort", "loadBalancerSourceRanges": ["10.0.0.0/8"]}},
     f"{W}deployments[1].haproxy.loadBalancerSourceRanges: is ignored: serviceType is NodePort, not LoadBalancer"),
    ({"deployments[0].backup": {"schedule": "0 4 * * *"}},
     f"{W}deployments[0].backup.schedule: is ignored: the stack has no backup (backup.kind none or disabled)"),
    ({"monitoring.backup": {"schedule": "0 4 * * *"}},
     f"{W}monitoring.backup: is ignored: the stack has no backup store (backup.kind none or disabled)"),
    ({"monitoring.alertmanager.slackWebhookUrl": None},
     f"{W}monitoring.alertmanager.slackWebhookUrl: is not set: alerts are routed but not delivered anywhere"),
])
def test_one_line_per_likely_mistake(changes, line):
    assert warnings_of(changes) == (line,)


def test_plain_text_webhook_is_flagged():
    (line,) = warnings_of({}, secret_keys=frozenset())
    assert line.startswith(f"{W}monitoring.alertmanager.slackWebhookUrl: is in plain text")
    assert "hooks.slack.com" not in line


def test_warnings_reach_the_engine_and_the_render(tmp_path, capsys):
    values = apply(GOOD, {"deployments": [CLUSTER | {"sentinel": {"replicas": 3}}, SENTINEL]})
    # The real program logs them through pulumi.log.warn: the mock engine records them.
    from stacks.harness import run_program
    from stacks.program import main as program_main

    run = run_program(program_main, to_runtime(values), SECRET)
    assert run.warnings == [f"{W}deployments[0].sentinel: is ignored: the deployment's mode is cluster"]
    stack_file = tmp_path / "Pulumi.w.yaml"
    stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace("      mode: cluster\n", "      mode: cluster\n      sentinel:\n        replicas: 3\n", 1))
    assert render_main(["w", "--out", str(tmp_path / "out"), "--stack-file", str(stack_file)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"{W}deployments[0].sentinel: is ignored: the deployment's mode is cluster" in err


def test_committed_stacks_warn_only_where_their_files_say_why():
    assert run_stack_file("prod").warnings == []
    dev = run_stack_file("dev").warnings
    assert dev == [f"{W}monitoring.alertmanager.slackWebhookUrl: is not set: alerts are routed but not delivered anywhere"]
    # Pulumi.dev.yaml says why dev has no webhook.
    assert "no slackWebhookUrl" in (ROOT / "Pulumi.dev.yaml").read_text()
