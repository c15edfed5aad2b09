"""kube-state-metrics as the program registers it, its scrape jobs, and the
metric names its rules read, checked against the pinned version's docs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.monitoring.kube_state_metrics import RESOURCES
from components.monitoring.rules import RulesSpec, alerts, rule_groups
from stacks.config.monitoring import KubeStateMetrics
from tests.integration.monitoring.promql_names import metric_names
from tests.unit.conftest import BASE_CONFIG, run_with

DOCUMENTED = Path(__file__).with_name("kube_state_metrics_v2.13.0.txt")
# The kubelet's own volume stats (Kubernetes metrics reference, kubelet
# component, stable since 1.8); not kube-state-metrics'.
KUBELET_DOCUMENTED = {"kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
                      "kubelet_volume_stats_used_bytes"}


@pytest.fixture(scope="module")
def run():
    return run_with(BASE_CONFIG | {"deployments": [
        {"name": "orders", "team": "checkout", "mode": "cluster", "size": "small"}]})


def test_image_is_the_official_one_pinned_to_the_documented_version():
    image = KubeStateMetrics().image
    assert image.startswith("registry.k8s.io/kube-state-metrics/kube-state-metrics:v")
    assert DOCUMENTED.name == f"kube_state_metrics_{image.rsplit(':', 1)[1]}.txt"


def test_rules_read_only_documented_metrics():
    documented = set(DOCUMENTED.read_text().split()) | KUBELET_DOCUMENTED
    groups = rule_groups(RulesSpec())["kubernetes.yml"]
    used = set().union(*(metric_names(a.expr) for a in alerts(groups)))
    assert used and used <= documented, used - documented
    # Each kube_<kind>_ series comes from a collector the Deployment enables.
    collectors = {r.rstrip("s") for res in RESOURCES.values() for r in res}
    kinds = {n.split("_")[1] for n in used if n.startswith("kube_")}
    assert kinds <= collectors, kinds - collectors


def test_least_privilege_rbac(run):
    [role] = [r for r in run.k8s("ClusterRole") if r["metadata"]["name"].endswith("kube-state-metrics")]
    for rule in role["rules"]:
        assert rule["verbs"] == ["list", "watch"], rule
        assert "*" not in rule["resources"] and "secrets" not in rule["resources"], rule
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {(g, r) for g, res in RESOURCES.items() for r in res}
    [binding] = [b for b in run.k8s("ClusterRoleBinding") if b["metadata"]["name"].endswith("kube-state-metrics")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": "monitoring"}]


def test_deployment_is_locked_down_and_probed(run):
    [dep] = run.k8s("Deployment", "kube-state-metrics")
    pod = dep["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and c["securityContext"]["runAsNonRoot"] is True
    assert c["livenessProbe"] and c["readinessProbe"] and c["resources"]["limits"]
    resources_arg = [a for a in c["args"] if a.startswith("--resources=")]
    assert resources_arg == ["--resources=cronjobs,deployments,jobs,persistentvolumeclaims,pods,statefulsets"]
    assert any(a.startswith("--metric-labels-allowlist=") and "redis-platform/team" in a for a in c["args"])


def test_prometheus_scrapes_it_and_the_kubelets_volume_stats(run):
    [cm] = run.k8s("ConfigMap", "prometheus-config")
    jobs = {j["job_name"]: j for j in yaml.safe_load(cm["data"]["prometheus.yml"])["scrape_configs"]}
    ksm = jobs["kube-state-metrics"]
    assert ksm["honor_labels"] is True
    keep = [r for r in ksm["relabel_configs"] if r.get("action") == "keep"]
    assert [r["regex"] for r in keep] == ["kube-state-metrics", "http-metrics"]
    [svc] = run.k8s("Service", "kube-state-metrics")
    assert svc["spec"]["ports"][0]["name"] == "http-metrics"
    kubelet = jobs["kubelet"]
    assert kubelet["kubernetes_sd_configs"] == [{"role": "node"}] and kubelet["scheme"] == "https"
    assert kubelet["metric_relabel_configs"][0]["action"] == "keep"


def test_disabled_means_no_objects_and_no_jobs():
    run = run_with(BASE_CONFIG | {"monitoring": {"kubeStateMetrics": {"enabled": False}}})
    assert not run.k8s("Deployment", "kube-state-metrics")
    [cm] = run.k8s("ConfigMap", "prometheus-config")
    names = {j["job_name"] for j in yaml.safe_load(cm["data"]["prometheus.yml"])["scrape_configs"]}
    assert not names & {"kube-state-metrics", "kubelet"}
