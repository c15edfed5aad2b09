"""The config's cron and CIDR checks agree with the real API server.

Each sample of tests/samples/grammar_samples.py goes into the object field
the program puts it in (a CronJob's `spec.schedule`, a Service's
`spec.loadBalancerSourceRanges`, a NetworkPolicy's `ipBlock.cidr`) and is
sent as a server-side dry run: the server validates it and stores nothing.
`refuse_stricter` values are ones the server takes but the config refuses
on purpose, so the server must accept them.
"""

from __future__ import annotations

import pytest

from tests.e2e import kube
from tests.samples.grammar_samples import SAMPLES

NS = "grammar"


def _expected(grammar: str) -> list[tuple[str, bool]]:
    lists = SAMPLES[grammar]
    return ([(v, True) for v in lists["accept"]] + [(v, False) for v in lists["refuse"]]
            + [(v, True) for v in lists.get("refuse_stricter", [])])


def _cronjob(schedule: str) -> dict:
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "sample", "namespace": NS},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}},
    }


def _service(cidr: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sample", "namespace": NS},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 6379}], "loadBalancerSourceRanges": [cidr]},
    }


def _network_policy(cidr: str) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "sample", "namespace": NS},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": cidr}}]}]},
    }


@pytest.fixture(scope="module")
def namespace(dyn):
    kube.apply(dyn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return NS


def _server_verdicts(dyn, build, samples) -> list[str]:
    wrong = []
    for value, should_accept in samples:
        try:
            kube.apply(dyn, build(value), dry_run=True)
            accepted, why = True, "accepted"
        except kube.ApiException as exc:
            accepted, why = False, kube.reason(exc)
        if accepted != should_accept:
            wrong.append(f"{value!r}: config {'accepts' if should_accept else 'refuses'}, server: {why[:200]}")
    return wrong


def test_cron_samples_agree_with_the_cronjob_schedule_validation(dyn, namespace):
    samples = _expected("cron")
    assert len(samples) > 40
    assert _server_verdicts(dyn, _cronjob, samples) == []


@pytest.mark.parametrize("build", [_service, _network_policy], ids=["loadBalancerSourceRanges", "ipBlock"])
def test_cidr_samples_agree_with_the_api_server(dyn, namespace, build):
    samples = _expected("cidr")
    assert any(not ok for _, ok in samples)
    assert _server_verdicts(dyn, build, samples) == []
