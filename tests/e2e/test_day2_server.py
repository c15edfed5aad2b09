"""Day-2 config edits, rendered and applied to a real API server on top of the
committed dev stack, in the order an SRE would make them.

What the engine would send is modelled in one place only: every
StatefulSet's `volumeClaimTemplates` (Redis data, Prometheus, Alertmanager)
is in the program's ignore list (`CLAIM_TEMPLATES_IGNORED`, asserted by unit
tests), so the template the
first `pulumi up` created is what the server keeps seeing. Everything else is
the rendered object as is: the server must accept each as an in-place update.
The claims are bound to PersistentVolumes made here (there is no
provisioner), since the server resizes only bound claims.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.common.claims import CLAIM_TEMPLATES_IGNORED
from tests.e2e import kube
from tests.e2e.conftest import render
from tests.e2e.control_plane import ROOT
from tests.integration.procs import wait_for

Edit = Callable[[dict[str, Any]], None]
EXPANDABLE_CLASS = "e2e-expandable"
# A Job's pod template is immutable, so the provider replaces a Job whose
# template changed (the bootstrap Job is delete-before-replace and idempotent);
# no other kind may need it.
REPLACED_BY_DESIGN = ("Job",)


def _set(name: str, **values: Any) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        node = next(d for d in cfg["redis-platform:deployments"] if d["name"] == name)
        *parents, leaf = next(iter(values)).split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = next(iter(values.values()))

    return edit


def _monitoring(server: str, size: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        cfg.setdefault("redis-platform:monitoring", {}).setdefault(server, {})["storageSize"] = size

    return edit


def _storage(cfg: dict[str, Any]) -> None:
    cfg["redis-platform:storage"] = {"kind": "existing", "storageClassName": EXPANDABLE_CLASS}


# Applied one after another, each on top of the previous.
STEPS: list[tuple[str, Edit]] = [
    ("cluster: raise memory", _set("sessions", size="medium")),
    ("sentinel: raise memory", _set("cache", size="medium")),
    ("cluster: change team", _set("sessions", team="web-platform")),
    ("sentinel: change team", _set("cache", team="web-platform")),
    ("cluster: add a shard", _set("sessions", cluster__shards=4)),
    ("cluster: grow persistence", _set("sessions", persistence__size="4Gi")),
    ("sentinel: grow persistence", _set("cache", persistence__size="4Gi")),
    ("monitoring: grow Prometheus's volume", _monitoring("prometheus", "20Gi")),
    ("monitoring: grow Alertmanager's volumes", _monitoring("alertmanager", "4Gi")),
]


def _stack(tmp: Path, edits: list[Edit]) -> list[dict[str, Any]]:
    doc = copy.deepcopy(yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text()))
    for edit in edits:
        edit(doc["config"])
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return render("dev", tmp / "out", stack_file=tmp / "Pulumi.dev.yaml")


def _by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[tuple, dict[str, Any]]:
    return {kube.key(m): m for m in manifests if m["kind"] == kind}


def _bind(dyn, claims: list[dict[str, Any]]) -> None:
    """A PersistentVolume pre-bound to each claim; the binder controller binds them."""
    for c in claims:
        meta, spec = c["metadata"], c["spec"]
        kube.apply(dyn, {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{meta['namespace']}-{meta['name']}"},
            "spec": {
                "capacity": {"storage": spec["resources"]["requests"]["storage"]},
                "accessModes": spec["accessModes"], "storageClassName": spec["storageClassName"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/nonexistent/e2e/{meta['name']}"},
                "claimRef": {"namespace": meta["namespace"], "name": meta["name"]},
            },
        })

    def all_bound() -> bool:
        phases = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["status"].get("phase")
                  for o in kube.listing(dyn, "v1", "PersistentVolumeClaim")}
        return all(phases.get((c["metadata"]["namespace"], c["metadata"]["name"])) == "Bound" for c in claims)

    wait_for(all_bound, timeout=60, interval=0.5, what="claims bound to their PersistentVolumes")


def _is_bound(dyn, claim: dict[str, Any]) -> bool:
    live = kube.get(dyn, "v1", "PersistentVolumeClaim", claim["metadata"]["name"], claim["metadata"]["namespace"])
    return bool(live) and live["status"].get("phase") == "Bound"


def _data_claims(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == "PersistentVolumeClaim" and m["metadata"]["name"].startswith("data-")]


def _as_engine_sends(sts: dict[str, Any], created: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(sts)
    if created is not None and "volumeClaimTemplates" in created["spec"] and "spec.volumeClaimTemplates" in CLAIM_TEMPLATES_IGNORED:
        out["spec"]["volumeClaimTemplates"] = created["spec"]["volumeClaimTemplates"]
    return out


@pytest.fixture(scope="module")
def live_jobs() -> dict[tuple, dict[str, Any]]:
    """The Jobs last applied, by key: what the engine's state would list (a
    step that renames a hashed Job replaces it)."""
    return {}


@pytest.fixture(scope="module")
def on_expandable_storage(control_plane, dyn, tmp_path_factory, live_jobs) -> list[dict[str, Any]]:
    """The dev stack on a class that can expand (gp3 can, dev's NFS class cannot)."""
    kube.apply(dyn, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": EXPANDABLE_CLASS},
                     "provisioner": "e2e.invalid/none", "allowVolumeExpansion": True})
    manifests = _stack(tmp_path_factory.mktemp("base"), [_storage])
    assert kube.apply_all(dyn, manifests) == {}
    _bind(dyn, _data_claims(manifests))
    live_jobs.update(_by_kind(manifests, "Job"))
    return manifests


def test_day2_edits_apply_in_place(on_expandable_storage, live_jobs, dyn, tmp_path):
    created = _by_kind(on_expandable_storage, "StatefulSet")
    edits: list[Edit] = [_storage]
    refused: dict[str, dict[tuple, str]] = {}
    replaced: list[tuple[str, tuple]] = []
    for label, edit in STEPS:
        edits.append(edit)
        manifests = _stack(tmp_path / str(len(edits)), edits)
        stses = _by_kind(manifests, "StatefulSet")
        assert set(created) <= set(stses), f"{label} removes a StatefulSet"
        for k, sts in stses.items():
            if k in created:
                tpl_before = created[k]["spec"].get("volumeClaimTemplates", [])
                tpl_after = sts["spec"].get("volumeClaimTemplates", [])
                # Even ignoring the ignore list, only the size may differ: names,
                # labels and classes in a template never follow config.
                strip = lambda t: [{**x, "spec": {**x["spec"], "resources": None}} for x in t]  # noqa: E731
                assert strip(tpl_before) == strip(tpl_after), f"{label}: {k} template labels or class changed"
        step_refused = {}
        for m in kube.ordered(manifests):
            body = _as_engine_sends(m, created.get(kube.key(m))) if m["kind"] == "StatefulSet" else m
            try:
                kube.apply(dyn, body)
            except kube.ApiException as exc:
                if m["kind"] in REPLACED_BY_DESIGN:
                    replaced.append((label, kube.key(m)))
                    kube.delete(dyn, m, propagation="Foreground")
                    wait_for(lambda: kube.get(dyn, *kube.key(m)[:2], kube.key(m)[3], kube.key(m)[2]) is None,
                             timeout=30, what=f"deletion of {kube.key(m)}")
                    kube.apply(dyn, m)
                else:
                    step_refused[kube.key(m)] = kube.reason(exc)
        if step_refused:
            refused[label] = step_refused
        # A Job whose name follows a hash (pre-roll, bootstrap) is a new
        # physical object under the same Pulumi resource: the engine deletes
        # the old one once the new one exists (a replacement). Do the same.
        keys = {kube.key(m) for m in manifests}
        for k in [k for k in live_jobs if k not in keys]:
            kube.delete(dyn, live_jobs.pop(k))
        live_jobs.update(_by_kind(manifests, "Job"))
        created |= {k: v for k, v in stses.items() if k not in created}
        _bind(dyn, [c for c in _data_claims(manifests) if not _is_bound(dyn, c)])
    assert refused == {}, "\n".join(f"{step}: {k}: {why[:300]}" for step, r in refused.items() for k, why in r.items())
    print("replaced (Jobs, by design):", replaced)
    sizes = {c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"]
             for c in kube.listing(dyn, "v1", "PersistentVolumeClaim", namespace="redis-stack")}
    assert {sizes[f"data-sessions-{i}"] for i in range(8)} == {"4Gi"}
    assert {sizes[f"data-cache-{i}"] for i in range(3)} == {"4Gi"}
    sizes = {c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"]
             for c in kube.listing(dyn, "v1", "PersistentVolumeClaim", namespace="monitoring")}
    assert sizes["data-prometheus-0"] == "20Gi"
    assert {sizes[f"data-alertmanager-{i}"] for i in range(3)} == {"4Gi"}


def test_server_refuses_a_shrink_and_a_changed_template(on_expandable_storage, dyn):
    """The controls: what the program must never send is refused, with the server's reason."""
    claim = copy.deepcopy(next(c for c in _data_claims(on_expandable_storage) if c["metadata"]["name"] == "data-cache-0"))
    claim["spec"]["resources"]["requests"]["storage"] = "1Gi"
    with pytest.raises(kube.ApiException) as exc:
        kube.apply(dyn, claim)
    assert "less than previous value" in kube.reason(exc.value)
    sts = copy.deepcopy(next(iter(_by_kind(on_expandable_storage, "StatefulSet").values())))
    sts["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]["redis-platform/team"] = "other"
    with pytest.raises(kube.ApiException) as exc:
        kube.apply(dyn, sts)
    assert "Forbidden" in kube.reason(exc.value)


def test_dev_nfs_claims_cannot_grow_and_the_server_says_why(tools, tmp_path):
    """Dev's NFS class cannot expand volumes (nfs-subdir has no resizer): a size
    edit there is refused by the server, which docs/operations.md explains."""
    from tests.e2e.conftest import start_control_plane

    cp = start_control_plane(tools, tmp_path / "cp")
    try:
        dyn = kube.connect(cp.kubeconfig, context="dev-onprem")
        base = _stack(tmp_path / "base", [])
        assert kube.apply_all(dyn, base) == {}
        _bind(dyn, _data_claims(base))
        grown = _stack(tmp_path / "grown", [_set("cache", persistence__size="4Gi")])
        claim = next(c for c in _data_claims(grown) if c["metadata"]["name"] == "data-cache-0")
        with pytest.raises(kube.ApiException) as exc:
            kube.apply(dyn, claim)
        assert "storageclass that provisions the pvc must support resize" in kube.reason(exc.value)
    finally:
        cp.stop()


def test_removing_a_deployment_deletes_its_objects_and_keeps_its_claims(on_expandable_storage, live_jobs, dyn, tmp_path):
    """A deployment leaves the stack file: what leaves the render is its objects
    only, and deleting them (claims aside: the program marks them
    retainOnDelete) lets garbage collection take its Pods and keeps its data."""
    without = _stack(tmp_path, [_storage, lambda cfg: cfg["redis-platform:deployments"].pop(1)])
    gone = {kube.key(m): m for m in on_expandable_storage} .keys() - {kube.key(m) for m in without}
    assert gone, "removing the cache deployment removed nothing"
    for api, kind, ns, name in gone:
        m = next(x for x in on_expandable_storage if kube.key(x) == (api, kind, ns, name))
        assert m["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == "cache" or name.startswith("cache"), name
    claims = {k[3] for k in gone if k[1] == "PersistentVolumeClaim"}
    assert claims == {f"data-cache-{i}" for i in range(3)}
    selector = "app.kubernetes.io/instance=cache"

    def pods() -> set[str]:
        return {o["metadata"]["name"] for o in kube.listing(dyn, "v1", "Pod", namespace="redis-stack", selector=selector)}

    wait_for(lambda: len(pods()) >= 3, timeout=60, interval=0.5, what="the cache pods")
    # The engine deletes what its state holds: the Jobs live now (an earlier
    # test may have replaced the base render's), everything else as rendered.
    kept = {kube.key(m) for m in without}
    for m in [m for m in on_expandable_storage if m["kind"] != "Job"] + list(live_jobs.values()):
        if kube.key(m) not in kept and m["kind"] != "PersistentVolumeClaim":
            kube.delete(dyn, m)
    try:
        wait_for(lambda: not pods(), timeout=60, interval=0.5, what="garbage collection of the cache pods")
    except TimeoutError:
        left_pods = kube.listing(dyn, "v1", "Pod", namespace="redis-stack", selector=selector)
        owners = {o["metadata"]["name"]: [r["kind"] + "/" + r["name"] for r in o["metadata"].get("ownerReferences") or []] for o in left_pods}
        raise AssertionError(f"pods left 60 s after their owners were deleted: {owners}") from None
    left = {o["metadata"]["name"] for o in kube.listing(dyn, "v1", "PersistentVolumeClaim", namespace="redis-stack")}
    assert claims <= left
