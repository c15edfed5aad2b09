"""Bad federation sections stop the program with one line naming the key."""

from __future__ import annotations

import pulumi
import pytest

from stacks.config import ConfigError, load_stack_config
from stacks.harness import RecordingMocks, run_program
from stacks.program import main as program_main
from tests.unit.conftest import BASE_CONFIG, to_runtime

OK_LOWER = {"name": "prod", "url": "http://prometheus.monitoring.svc:9090"}
F = "redis-platform:federation"


def fed(**changes):
    return BASE_CONFIG | {"federation": {"enabled": True, "lower": [OK_LOWER]} | changes}


def lower(**fields):
    return fed(lower=[{"name": "x"} | fields])


BAD = [
    pytest.param(fed(lower=[]), F, "at least one lower server", id="enabled-without-lower"),
    pytest.param(fed(lower=[OK_LOWER, {**OK_LOWER, "url": "http://other:9090"}]), f"{F}.lower[1].name",
                 "already the name of lower[0]", id="duplicate-lower-names"),
    pytest.param(fed(stackReferences=[{"name": "prod", "stack": "acme/redis-platform/dev"}]),
                 f"{F}.stackReferences[0].name", "already the name of lower[0]", id="reference-name-taken"),
    pytest.param(fed(scrapeTimeout="60s"), F, "scrapeTimeout 60s must be shorter than scrapeInterval 60s",
                 id="timeout-not-below-interval"),
    pytest.param(fed(scrapeInterval="1 minute"), f"{F}.scrapeInterval", "Prometheus duration", id="bad-interval"),
    pytest.param(lower(), f"{F}.lower[0]", "set either url or targets", id="neither-url-nor-targets"),
    pytest.param(lower(url="http://p:9090", targets=["p:9090"]), f"{F}.lower[0]", "set either url or targets",
                 id="both-url-and-targets"),
    pytest.param(lower(url="https://p:9090", scheme="https"), f"{F}.lower[0]", "scheme comes from url",
                 id="scheme-with-url"),
    pytest.param(lower(url="ftp://p"), f"{F}.lower[0].url", "http(s) URL", id="url-not-http"),
    pytest.param(lower(url="https://ingress.example.com/dev/federate"), f"{F}.lower[0].url", "path prefix",
                 id="url-with-path-prefix"),
    pytest.param(lower(targets=["http://p:9090"]), f"{F}.lower[0].targets[0]", "host[:port]", id="target-with-scheme"),
    pytest.param(lower(url="http://p:9090", caSecret="ca"), f"{F}.lower[0]", "need an https URL", id="tls-over-http"),
    pytest.param(lower(url="https://p", caSecret="ca", insecureSkipVerify=True), f"{F}.lower[0]", "ignore caSecret",
                 id="ca-and-skip-verify"),
    pytest.param(lower(url="http://p", passwordSecret="auth"), f"{F}.lower[0]", "needs username",
                 id="password-without-username"),
    pytest.param(lower(url="http://p", passwordSecret="Auth_Secret", username="u"), f"{F}.lower[0].passwordSecret",
                 "DNS-1123", id="bad-secret-name"),
    pytest.param(fed(stackReferences=[{"name": "dev", "stack": "acme/redis platform/dev"}]),
                 f"{F}.stackReferences[0].stack", "not a stack name", id="bad-stack-name"),
    pytest.param(fed(stackReferences=[{"name": "dev"}]), f"{F}.stackReferences[0].stack", "required key is missing",
                 id="reference-without-stack"),
    pytest.param(fed(stackReferences=[{"name": "dev", "stack": "a/b/dev", "caSecret": "ca"}]),
                 f"{F}.stackReferences[0]", "need an https URL", id="reference-tls-without-url"),
    pytest.param(fed(selectors=["{job=", "up"]), f"{F}.selectors[0]", "not a series selector", id="bad-selector"),
    pytest.param(fed(replaceDefaultSelectors=True), F, "replaceDefaultSelectors needs selectors",
                 id="replace-with-nothing"),
    pytest.param(fed(serviceType="LoadBalancer"), F, "loadBalancerSourceRanges", id="open-loadbalancer"),
    pytest.param(fed(alertmanagerUrl="https://am:9093"), f"{F}.alertmanagerUrl", "http://host", id="alertmanager-https"),
    pytest.param(fed(namespace="monitoring"), F, "is the monitoring namespace", id="namespace-of-monitoring"),
    pytest.param(fed(namespace="redis"), F, "is a Redis namespace", id="namespace-of-redis"),
    pytest.param(fed() | {"monitoring": {"enabled": False}}, F, "alertmanagerUrl is required", id="nowhere-to-alert"),
    pytest.param(fed(remoteWrite=[{"url": "lts.example.com"}]), f"{F}.remoteWrite[0].url", "http(s) URL",
                 id="bad-remote-write"),
    pytest.param(fed(grafana={"enabled": True, "colour": "red"}), f"{F}.grafana.colour", "unknown key",
                 id="unknown-grafana-key"),
    pytest.param(fed(lowerServers=[]), f"{F}.lowerServers", "unknown key", id="unknown-key"),
]


@pytest.mark.parametrize("values, key, words", BAD)
def test_bad_federation_names_the_key(values, key, words):
    with pytest.raises(ConfigError) as err:
        load_stack_config(values)
    message = str(err.value)
    assert "\n" not in message
    assert f"{key}:" in message, message
    assert words in message, message


def test_disabled_section_is_not_checked_against_the_stack():
    cfg = load_stack_config(BASE_CONFIG | {"federation": {"namespace": "monitoring"}})
    assert not cfg.federation.enabled


def test_bad_federation_registers_nothing():
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as err:
        run_program(program_main, to_runtime(fed(scrapeTimeout="2m")), mocks=mocks)
    assert "redis-platform:federation" in str(err.value)
    assert mocks.resources == []
