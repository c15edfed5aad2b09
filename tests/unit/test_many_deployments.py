"""Redis as a Service: many deployments in one stack, each independent of the others."""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from stacks.harness import run_program
from stacks.program import main as program_main
from stacks.render import write_render
from tests.unit.conftest import BASE_CONFIG, to_runtime

FIVE = [
    {"name": "sessions", "team": "web", "mode": "cluster", "size": "small"},
    {"name": "orders", "team": "trading", "mode": "cluster", "size": "large", "cluster": {"shards": 5, "replicasPerShard": 2}},
    {"name": "cache", "team": "web", "mode": "sentinel", "size": "medium", "maxmemoryPolicy": "allkeys-lru"},
    {"name": "quotes", "team": "market-data", "mode": "sentinel", "resources": {"cpu": "2", "memory": "6Gi"},
     "sentinel": {"replicas": 3, "sentinels": 5}},
    {"name": "ratelimit", "team": "edge", "mode": "cluster", "resources": {"cpu": "250m", "memory": "512Mi"},
     "persistence": {"enabled": False}, "namespace": "edge-redis"},
]


def render(deployments, out: Path):
    values = copy.deepcopy(BASE_CONFIG) | {"kubernetesVersion": "1.31", "deployments": deployments}
    run = run_program(program_main, to_runtime(values))
    write_render(run, out)
    return run


def files(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((out / "1-manifest").glob("*.yaml"))}


def belongs_to(text: str, name: str) -> bool:
    meta = yaml.safe_load(text)["metadata"]
    lbl = meta.get("labels", {})
    return lbl.get("redis-platform/deployment") == name or lbl.get("app.kubernetes.io/instance") == name


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    out = tmp_path_factory.mktemp("five")
    return render(FIVE, out), out


def test_five_mixed_deployments_render_and_validate(five):
    run, out = five
    rendered = files(out)
    for name, text in rendered.items():
        doc = yaml.safe_load(text)
        try:
            kubernetes_validate.validate(doc, "1.31", strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{name}: {err.message}")
    for dep in FIVE:
        out_key = f"redis-{dep['name']}"
        assert run.outputs[out_key]["mode"] == dep["mode"]
        assert run.outputs[out_key]["team"] == dep["team"]
        assert any(belongs_to(t, dep["name"]) for t in rendered.values())


def test_each_deployment_is_wired_into_monitoring(five):
    run, _ = five
    for dep in FIVE:
        kind_name = [("StatefulSet", dep["name"])]
        (sts,) = run.k8s(*kind_name[0])
        tmpl = sts["spec"]["template"]["metadata"]
        assert tmpl["annotations"]["prometheus.io/scrape"] == "true"
        # The labels the scrape job turns into `deployment` and `team` series labels.
        assert tmpl["labels"]["app.kubernetes.io/instance"] == dep["name"]
        assert tmpl["labels"]["redis-platform/team"] == dep["team"]
    (cm,) = run.k8s("ConfigMap", "grafana-dashboards")
    assert "$deployment" in cm["data"]["redis-overview.json"]


@pytest.mark.parametrize("removed", [d["name"] for d in FIVE])
def test_removing_one_leaves_the_others_byte_for_byte(five, removed, tmp_path):
    _, out = five
    before = files(out)
    render([d for d in FIVE if d["name"] != removed], tmp_path)
    after = files(tmp_path)
    gone = {n for n, t in before.items() if belongs_to(t, removed)}
    assert gone, f"{removed} rendered no objects of its own"
    # ratelimit is alone in its namespace: the namespace and its baseline policies go with it.
    edge_ns = {"v1-namespace-default-edge-redis.yaml", "networking.k8s.io_v1-networkpolicy-edge-redis-redis-platform.default-deny.yaml",
               "networking.k8s.io_v1-networkpolicy-edge-redis-redis-platform.allow-dns.yaml"}
    assert set(after) == set(before) - gone - (edge_ns if removed == "ratelimit" else set())
    changed = [n for n in after if after[n] != before[n]]
    assert changed == [], f"removing {removed} changed {changed}"
