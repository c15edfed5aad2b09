"""Every object both committed stacks render is admitted by a real kube-apiserver.

The offline tier validates against the OpenAPI schema; the server also runs
the rules the schema does not carry (CronJob schedules, selector/label
agreement, name formats, immutable fields, RBAC escalation checks,
defaulting). Each stack gets an API server of its own: dev and prod use the
same namespaces and names.
"""

from __future__ import annotations

import pytest

from tests.crd_schema import crd_manifests
from tests.e2e import kube
from tests.e2e.conftest import render, start_control_plane


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack_on_server(request, tools, tmp_path_factory):
    stack = request.param
    cp = start_control_plane(tools, tmp_path_factory.mktemp(f"cp-{stack}"))
    try:
        manifests = render(stack, tmp_path_factory.mktemp(f"render-{stack}"))
        dyn = kube.connect(cp.kubeconfig, context="dev-onprem" if stack == "dev" else "eks-prod")
        # cert-manager's CRD (prod's Certificates): the cluster's, not the program's.
        kube.install_crds(dyn, crd_manifests(), manifests)
        refused = kube.apply_all(dyn, manifests)
        yield stack, dyn, manifests, refused
    finally:
        cp.stop()


def test_every_rendered_object_is_admitted(stack_on_server):
    stack, _, manifests, refused = stack_on_server
    assert manifests, f"the {stack} render wrote no objects"
    assert refused == {}, "\n".join(f"{k}: {v}" for k, v in refused.items())


def test_every_rendered_object_is_stored_with_its_kind_namespace_and_name(stack_on_server):
    _, dyn, manifests, _ = stack_on_server
    missing = [
        kube.key(m)
        for m in manifests
        if kube.get(dyn, m["apiVersion"], m["kind"], m["metadata"]["name"], m["metadata"].get("namespace", "")) is None
    ]
    assert missing == []


def _template_claims(manifests) -> set[tuple[str, str, str, str]]:
    """Claims a StatefulSet controller makes from a template, where the program makes none itself."""
    out = set()
    for m in manifests:
        if m["kind"] == "StatefulSet":
            for tpl in m["spec"].get("volumeClaimTemplates", []):
                for i in range(m["spec"]["replicas"]):
                    out.add(("v1", "PersistentVolumeClaim", m["metadata"]["namespace"],
                             f"{tpl['metadata']['name']}-{m['metadata']['name']}-{i}"))
    return out


def test_nothing_else_carries_the_platform_labels(stack_on_server):
    """The server holds no platform object the render did not write (controllers' Pods and PVCs aside)."""
    _, dyn, manifests, _ = stack_on_server
    rendered = {kube.key(m) for m in manifests} | _template_claims(manifests)
    kinds = {(m["apiVersion"], m["kind"]) for m in manifests}
    extra = []
    for api_version, kind in sorted(kinds):
        for obj in kube.listing(dyn, api_version, kind, selector="app.kubernetes.io/part-of=redis-platform"):
            meta = obj["metadata"]
            k = (api_version, kind, meta.get("namespace") or "", meta["name"])
            if k not in rendered and not meta.get("ownerReferences"):
                extra.append(k)
    assert extra == []


def test_statefulset_controller_makes_a_claim_per_replica(stack_on_server):
    """The controller turns each data volumeClaimTemplate into PVCs, as on a cluster."""
    _, dyn, manifests, _ = stack_on_server
    from tests.integration.procs import wait_for

    expected = {(ns, name) for _, _, ns, name in _template_claims(manifests)}
    assert expected, "no StatefulSet with a volumeClaimTemplate was rendered"

    def claims() -> set[tuple[str, str]]:
        return {(c["metadata"]["namespace"], c["metadata"]["name"]) for c in kube.listing(dyn, "v1", "PersistentVolumeClaim")}

    wait_for(lambda: expected <= claims(), timeout=60, interval=0.5, what="PVCs from every StatefulSet")
