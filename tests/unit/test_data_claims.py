"""Data StatefulSets survive every config edit: their claim templates never
follow config, the engine is told to leave them alone, and the claims are the
program's own objects that change in place and outlive the program.

Resource options are recorded by the ``recorded_options`` fixture (conftest).
"""

from __future__ import annotations

from typing import Any

import pytest

from components.redis.generations import DATA_STATEFULSET_IGNORED, claim_name
from tests.unit.conftest import BASE_CONFIG, run_with

DEPLOYMENTS = [
    {"name": "sessions", "team": "web", "mode": "cluster", "size": "small", "cluster": {"shards": 3}},
    {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"},
]


def _config(**per_deployment: Any) -> dict[str, Any]:
    deps = [d | per_deployment for d in DEPLOYMENTS]
    return BASE_CONFIG | {"redisNamespace": "redis", "deployments": deps}


def _data_statefulsets(run) -> dict[str, dict]:
    return {s["metadata"]["name"]: s for s in run.k8s("StatefulSet")
            if s["metadata"]["namespace"] == "redis" and s["spec"].get("volumeClaimTemplates")}


def test_every_data_statefulset_leaves_its_claim_templates_to_the_engine(recorded_options):
    run = run_with(_config())
    stses = _data_statefulsets(run)
    assert set(stses) == {"sessions", "cache"}
    for name in stses:
        opts = recorded_options[f"{name}-statefulset"]
        assert "spec.volumeClaimTemplates" in DATA_STATEFULSET_IGNORED
        assert list(opts.ignore_changes) == list(DATA_STATEFULSET_IGNORED), name


def test_claim_templates_hold_only_the_selector_labels():
    run = run_with(_config())
    for name, sts in _data_statefulsets(run).items():
        (tpl,) = sts["spec"]["volumeClaimTemplates"]
        assert tpl["metadata"]["labels"] == sts["spec"]["selector"]["matchLabels"], name


def test_each_pod_has_a_program_claim_that_outlives_the_program(recorded_options):
    run = run_with(_config())
    for name, sts in _data_statefulsets(run).items():
        for i in range(sts["spec"]["replicas"]):
            (claim,) = run.k8s("PersistentVolumeClaim", claim_name(name, i))
            assert claim["metadata"]["labels"]["redis-platform/team"] == "web"
            opts = recorded_options[f"{name}-data-{i}"]
            assert opts.retain_on_delete is True
            # The StatefulSet waits for its claims, so its controller adopts them.
            assert any(getattr(d, "_name", None) == f"{name}-data-{i}" for d in recorded_options[f"{name}-statefulset"].depends_on)
        assert not run.k8s("PersistentVolumeClaim", claim_name(name, sts["spec"]["replicas"]))


@pytest.mark.parametrize(
    "edit",
    [
        {"team": "payments"},
        {"size": "medium"},
        {"persistence": {"size": "20Gi"}},
        {"image": "redis:7.2.7-alpine"},
    ],
    ids=lambda e: next(iter(e)),
)
def test_config_edits_leave_claim_templates_and_selectors_alone(edit):
    before, after = _data_statefulsets(run_with(_config())), _data_statefulsets(run_with(_config(**edit)))
    for name in before:
        for key in ("selector", "serviceName", "podManagementPolicy"):
            assert after[name]["spec"][key] == before[name]["spec"][key], (name, key)
        tpl_b, tpl_a = before[name]["spec"]["volumeClaimTemplates"], after[name]["spec"]["volumeClaimTemplates"]
        if "persistence" in edit:
            # Only the size differs, and the engine ignores it (above).
            assert [t["metadata"] for t in tpl_a] == [t["metadata"] for t in tpl_b]
        else:
            assert tpl_a == tpl_b, name


def test_growing_persistence_grows_every_claim():
    run = run_with(_config(persistence={"size": "20Gi"}))
    sizes = {c["spec"]["resources"]["requests"]["storage"] for c in run.k8s("PersistentVolumeClaim")
             if c["metadata"]["namespace"] == "redis"}
    assert sizes == {"20Gi"}


def test_no_claims_without_persistence():
    run = run_with(_config(persistence={"enabled": False}))
    assert not [c for c in run.k8s("PersistentVolumeClaim") if c["metadata"]["namespace"] == "redis"]
    assert not _data_statefulsets(run)
