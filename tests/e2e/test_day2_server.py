"""Day-2 config edits, rendered and applied to a real API server on top of the
committed dev stack: every data StatefulSet is updated in place.

The Pulumi Kubernetes provider replaces a StatefulSet (every pod at once)
when its `volumeClaimTemplates` differ, and the API server refuses any
in-place change to them; so for each edit this asserts both halves: the
templates are byte-for-byte what the first `pulumi up` created, and the server
accepts the new StatefulSet as an update.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import kube
from tests.e2e.conftest import render
from tests.e2e.control_plane import ROOT

Edit = Callable[[dict[str, Any]], None]


def _deployment(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in cfg["redis-platform:deployments"] if d["name"] == name)


def _set(name: str, **values: Any) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        target = _deployment(cfg, name)
        for dotted, value in values.items():
            node = target
            *parents, leaf = dotted.split("__")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value

    return edit


EDITS: dict[str, Edit] = {
    "cluster: raise memory": _set("sessions", size="medium"),
    "sentinel: raise memory": _set("cache", size="medium"),
    "cluster: grow persistence": _set("sessions", persistence__size="4Gi"),
    "sentinel: grow persistence": _set("cache", persistence__size="4Gi"),
    "cluster: add a shard": _set("sessions", cluster__shards=4),
    "cluster: change team": _set("sessions", team="web-platform"),
    "sentinel: change team": _set("cache", team="web-platform"),
}


@pytest.fixture(scope="module")
def base(control_plane, dyn, tmp_path_factory) -> list[dict[str, Any]]:
    manifests = render("dev", tmp_path_factory.mktemp("render-base"))
    assert kube.apply_all(dyn, manifests) == {}
    return manifests


def _render_edit(edit: Edit, tmp: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    cfg = copy.deepcopy(doc)
    edit(cfg["config"])
    stack_file = tmp / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return render("dev", tmp / "out", stack_file=stack_file)


def _data_statefulsets(manifests: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    return {kube.key(m): m for m in manifests if m["kind"] == "StatefulSet" and m["spec"].get("volumeClaimTemplates")}


@pytest.mark.parametrize("label", list(EDITS))
def test_edit_updates_every_data_statefulset_in_place(base, dyn, tmp_path, label):
    edited = _render_edit(EDITS[label], tmp_path)
    before, after = _data_statefulsets(base), _data_statefulsets(edited)
    assert set(before) <= set(after), f"{label} removes a data StatefulSet: {set(before) - set(after)}"
    changed_templates = [k for k in before if after[k]["spec"]["volumeClaimTemplates"] != before[k]["spec"]["volumeClaimTemplates"]]
    assert changed_templates == [], f"{label} changes volumeClaimTemplates (the provider would replace): {changed_templates}"
    refused = {}
    for k, manifest in after.items():
        try:
            kube.apply(dyn, manifest)
        except kube.ApiException as exc:
            refused[k] = kube.reason(exc)
    # Back to the committed stack, so the next edit starts from it.
    for k, manifest in before.items():
        kube.apply(dyn, manifest)
    assert refused == {}, refused


def test_server_refuses_a_changed_volume_claim_template(base, dyn):
    """The control the edits above rely on: an in-place template change is refused."""
    sts = copy.deepcopy(next(iter(_data_statefulsets(base).values())))
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "99Gi"
    with pytest.raises(kube.ApiException) as exc:
        kube.apply(dyn, sts)
    assert "Forbidden" in kube.reason(exc.value)


def test_removing_a_deployment_deletes_its_pods_and_keeps_its_claims(base, dyn):
    """What `pulumi up` does when a deployment leaves the stack file, done by hand
    on the server: its StatefulSet goes, garbage collection removes the Pods, and
    the PVCs holding the data stay (persistentVolumeClaimRetentionPolicy)."""
    from tests.integration.procs import wait_for

    sts = next(m for m in _data_statefulsets(base).values() if m["metadata"]["name"] == "sessions")
    ns, selector = sts["metadata"]["namespace"], ",".join(f"{k}={v}" for k, v in sts["spec"]["selector"]["matchLabels"].items())
    claims = {f"data-sessions-{i}" for i in range(sts["spec"]["replicas"])}

    def names(kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in kube.listing(dyn, "v1", kind, namespace=ns, selector=selector)}

    wait_for(lambda: len(names("Pod")) == sts["spec"]["replicas"] and claims <= names("PersistentVolumeClaim"),
             timeout=60, interval=0.5, what="pods and claims of the sessions StatefulSet")
    kube.delete(dyn, sts)
    wait_for(lambda: not names("Pod"), timeout=60, interval=0.5, what="garbage collection of the sessions pods")
    assert claims <= names("PersistentVolumeClaim")
