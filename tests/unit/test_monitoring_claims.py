"""Prometheus's and Alertmanager's volumes, like Redis's, are the program's
own claims: a storage size edit expands them in place and never replaces the
StatefulSet (which would restart every Alertmanager replica at once and
still leave the old size on the existing claims)."""

from __future__ import annotations

from typing import Any

import pytest

from components.common.claims import CLAIM_TEMPLATES_IGNORED, claim_name
from tests.unit.conftest import BASE_CONFIG, run_with

SERVERS = {"prometheus": ("prometheus", 1), "alertmanager": ("alertmanager", 3)}


def _config(prometheus: str = "50Gi", alertmanager: str = "2Gi") -> dict[str, Any]:
    return BASE_CONFIG | {"monitoring": {"prometheus": {"storageSize": prometheus},
                                         "alertmanager": {"storageSize": alertmanager}}}


def _claims(run, sts: str, replicas: int) -> list[dict[str, Any]]:
    out = []
    for i in range(replicas):
        (claim,) = run.k8s("PersistentVolumeClaim", claim_name(sts, i))
        out.append(claim)
    return out


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_each_replica_has_a_retained_program_claim_adopted_by_name(server, recorded_options):
    sts_name, replicas = SERVERS[server]
    run = run_with(_config())
    (sts,) = run.k8s("StatefulSet", sts_name)
    assert sts["spec"]["replicas"] == replicas
    (tpl,) = sts["spec"]["volumeClaimTemplates"]
    assert tpl["metadata"]["name"] == "data"
    assert tpl["metadata"]["labels"] == sts["spec"]["selector"]["matchLabels"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    opts = recorded_options[f"{server}-statefulset"]
    assert list(opts.ignore_changes) == list(CLAIM_TEMPLATES_IGNORED)
    for i, claim in enumerate(_claims(run, sts_name, replicas)):
        assert claim["metadata"]["namespace"] == "monitoring"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert recorded_options[f"{server}-data-{i}"].retain_on_delete is True
        assert any(getattr(d, "_name", None) == f"{server}-data-{i}" for d in opts.depends_on)
    assert not run.k8s("PersistentVolumeClaim", claim_name(sts_name, replicas))


def test_a_size_edit_grows_the_claims_and_leaves_the_statefulsets_alone():
    before, after = run_with(_config()), run_with(_config(prometheus="80Gi", alertmanager="4Gi"))
    for server, (sts_name, replicas) in SERVERS.items():
        (a,), (b,) = before.k8s("StatefulSet", sts_name), after.k8s("StatefulSet", sts_name)
        # Everything but the (ignored) template size is the same object.
        for key in ("selector", "serviceName", "template", "persistentVolumeClaimRetentionPolicy"):
            assert a["spec"][key] == b["spec"][key], (server, key)
        assert [t["metadata"] for t in a["spec"]["volumeClaimTemplates"]] == \
            [t["metadata"] for t in b["spec"]["volumeClaimTemplates"]]
        want = {"prometheus": "80Gi", "alertmanager": "4Gi"}[server]
        assert {c["spec"]["resources"]["requests"]["storage"] for c in _claims(after, sts_name, replicas)} == {want}
