"""The rendered NetworkPolicies, evaluated connection by connection, allow
exactly the table in docs/security.md, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.common.network_policy import DEFAULT_CLIENT_LABEL, OBJECT_STORAGE_LABEL
from components.monitoring.network_policies import PUSHER_LABEL
from tests.unit.conftest import BASE_CONFIG, ROOT, run_stack_file, run_with
from tests.unit.netpol_eval import Cluster, Endpoint, allowed_pairs, outside, pod, workload_pods

DOC = ROOT / "docs" / "security.md"
TABLE = re.compile(r"<!-- network-table:begin -->(.*?)<!-- network-table:end -->", re.S)

# The stack the table describes: both modes side by side in one namespace,
# clients chosen the three ways, an in-cluster S3-compatible store, the
# whole monitoring stack with a client of Prometheus, and a federation.
CONFIG = BASE_CONFIG | {
    "storage": {"kind": "nfs", "server": "10.0.0.20", "path": "/export"},
    "redisNamespace": "redis",
    "deployments": [
        {"name": "shop", "team": "web", "mode": "cluster", "size": "small",
         "clients": {"podSelector": {"app": "shop"}}},
        {"name": "cache", "team": "web", "mode": "sentinel", "size": "small",
         "clients": {"namespaceSelector": {"team": "cache-users"}}},
        {"name": "plain", "team": "web", "mode": "sentinel", "size": "small", "backup": {"enabled": False}},
    ],
    "monitoring": {
        "prometheus": {
            "clients": [{"namespaceSelector": {"kubernetes.io/metadata.name": "ingress"}}],
            "staticTargets": [{"job": "app", "targets": ["app.web.svc:8000"]}],
            "remoteWrite": [{"url": "https://mimir.example.com/api/v1/push"}],
        },
        "grafana": {"serviceType": "NodePort"},
    },
    "federation": {"enabled": True, "lower": [{"name": "self", "url": "http://prometheus.monitoring.svc:9090"}]},
    "backup": {"kind": "s3", "endpoint": "http://minio.storage.svc:9000", "bucketName": "backups",
               "credentialsSecret": "s3-backup-credentials"},
}

# Pod labels -> the role the table names. Deployment pods are named
# "<mode> <group>", so the table holds for any deployment name.
MODES = {"shop": "cluster", "cache": "sentinel", "plain": "sentinel-no-backup"}


def role_of(labels: dict[str, str]) -> str:
    name, comp = labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]
    dep = labels.get("redis-platform/deployment")
    if dep is None and name == "redis":  # the bootstrap Job's pods: no deployment label
        dep = labels["app.kubernetes.io/instance"]
    if dep is not None:
        group = "haproxy" if name == "haproxy" else comp
        if labels.get(OBJECT_STORAGE_LABEL) == "true":
            group = "ops (backup, restore)"
        return f"{MODES[dep]} {group}"
    if name == "prometheus" and labels.get("redis-platform/environment") == "global":
        return "global prometheus"
    if name == "grafana" and labels.get("redis-platform/environment") == "global":
        return "global grafana"
    return {"nfs-subdir-external-provisioner": "nfs-provisioner"}.get(name, name)


def endpoints(run) -> list[Endpoint]:
    pods = [p for p in workload_pods(run.kubernetes(), role_of) if not p.host_network]
    return pods + [
        pod("cluster client", "redis", {"app": "shop"}, source_only=True),
        pod("sentinel client", "cache-users", {}, source_only=True),
        pod("sentinel-no-backup client", "redis", {DEFAULT_CLIENT_LABEL: "plain"}, source_only=True),
        pod("ingress controller", "ingress", {}, source_only=True),
        pod("metrics pusher", "elsewhere", {PUSHER_LABEL: "true"}, source_only=True),
        pod("any other pod", "elsewhere", {"app": "curious"}),
        pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        outside("outside (internet, S3, API server)", "203.0.113.10"),
        outside("instance metadata", "169.254.169.254"),
    ]


def cluster_of(run) -> Cluster:
    ns_labels = {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in run.k8s("Namespace")}
    ns_labels["cache-users"] = {"team": "cache-users"}
    return Cluster(run.k8s("NetworkPolicy"), ns_labels)


def documented() -> set[tuple[str, str, str]]:
    match = TABLE.search(DOC.read_text())
    assert match, f"{DOC} has no network table"
    rows = set()
    for line in match.group(1).strip().splitlines()[2:]:
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        src, dst, ports = cells[0], cells[1], cells[2]
        rows |= {(src, dst, p.strip()) for p in ports.split(",")}
    return rows


@pytest.fixture(scope="module")
def table_run():
    return run_with(CONFIG)


@pytest.fixture(scope="module")
def table_pairs(table_run):
    owned = {n["metadata"]["name"] for n in table_run.k8s("Namespace")}
    return allowed_pairs(cluster_of(table_run), endpoints(table_run), owned, extra_ports=[(22, "TCP"), (80, "TCP")])


def test_rendered_policies_allow_exactly_the_documented_table(table_pairs):
    doc = documented()
    assert sorted(table_pairs - doc) == [], "allowed by the policies but not in docs/security.md"
    assert sorted(doc - table_pairs) == [], "in docs/security.md but not allowed by the policies"


def test_every_owned_namespace_is_default_deny_both_ways(table_run):
    namespaces = {n["metadata"]["name"] for n in table_run.k8s("Namespace")}
    assert namespaces == {"redis", "monitoring", "monitoring-global", "nfs-provisioner"}
    for ns in namespaces:
        deny = [p for p in table_run.k8s("NetworkPolicy") if p["metadata"]["namespace"] == ns and p["metadata"]["name"] == "redis-platform.default-deny"]
        assert [p["spec"] for p in deny] == [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}], ns


def test_no_pod_reaches_the_instance_metadata_service(table_pairs):
    assert not [p for p in table_pairs if p[1] == "instance metadata"]


def test_monitoring_reaches_redis_only_on_the_exporter_port(table_pairs):
    to_data = {(s, d, p) for s, d, p in table_pairs if s == "prometheus" and d.split(" ", 1)[-1] in ("cluster-node", "data-node")}
    assert to_data and {p for _, _, p in to_data} == {"9121"}


def test_deployments_never_reach_each_other(table_run):
    cluster = cluster_of(table_run)
    pods = [p for p in endpoints(table_run) if p.label_map.get("redis-platform/deployment")]
    ports = cluster.ports()
    for src in pods:
        for dst in pods:
            if src.label_map["redis-platform/deployment"] != dst.label_map["redis-platform/deployment"]:
                assert not any(cluster.allows(src, dst, port, proto) for port, proto in ports), (src.role, dst.role)


def test_only_uploading_pods_reach_the_object_store(table_pairs):
    store = {s for s, d, p in table_pairs if p == "9000"}
    # Redis data pods (preStop upload), the backup and restore Jobs, and the
    # monitoring servers whose sidecars back up their own data.
    assert store == {"cluster cluster-node", "cluster ops (backup, restore)", "sentinel data-node",
                     "sentinel ops (backup, restore)", "prometheus", "grafana"}


def test_aws_backup_reaches_s3_on_443_from_uploaders_only():
    run = run_with(BASE_CONFIG | {
        "deployments": [{"name": "shop", "team": "web", "mode": "cluster", "size": "small"}],
        "monitoring": {"enabled": False},
        "backup": {"kind": "aws", "bucketName": "acme-backups", "region": "eu-west-1",
                   "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
    })
    s3 = outside("s3", "52.95.150.1")
    pods = workload_pods(run.kubernetes(), role_of)
    cluster = cluster_of(run)
    reach = {p.role for p in pods if cluster.allows(p, s3, 443)}
    # The bootstrap Job reaches the API server (zone discovery) on 443, which
    # an ipBlock cannot tell from S3; it holds no AWS identity (checked here),
    # so reaching S3 gives it nothing the bucket policy would let through.
    assert reach == {"cluster cluster-node", "cluster ops (backup, restore)", "cluster bootstrap"}
    [bootstrap_sa] = [o for o in run.k8s("ServiceAccount") if o["metadata"]["name"] == "shop-bootstrap"]
    assert "eks.amazonaws.com/role-arn" not in (bootstrap_sa["metadata"].get("annotations") or {})


def test_default_clients_need_the_documented_label():
    run = run_with(BASE_CONFIG | {"deployments": [{"name": "plain", "team": "web", "mode": "cluster", "size": "small"}]})
    cluster = cluster_of(run)
    node = next(p for p in workload_pods(run.kubernetes(), role_of) if p.label_map["app.kubernetes.io/component"] == "cluster-node")
    labelled = pod("c", "redis", {DEFAULT_CLIENT_LABEL: "plain"})
    assert cluster.allows(labelled, node, 6379)
    assert not cluster.allows(pod("c", "redis", {}), node, 6379)
    assert not cluster.allows(pod("c", "other", {DEFAULT_CLIENT_LABEL: "plain"}), node, 6379)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stacks_are_default_deny_in_every_owned_namespace(stack):
    run = run_stack_file(stack)
    owned = {n["metadata"]["name"] for n in run.k8s("Namespace")}
    denied = {p["metadata"]["namespace"] for p in run.k8s("NetworkPolicy")
              if p["metadata"]["name"] == "redis-platform.default-deny" and p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert owned and owned == denied
