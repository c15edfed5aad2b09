"""prometheus.yml renderer for the per-environment Prometheus.

Pure: no Pulumi import. Scrape jobs discover their targets through
Kubernetes service discovery. ``static_overrides`` swaps a job's
``kubernetes_sd_configs`` for ``static_configs`` whose targets carry the
``__meta_kubernetes_*`` labels SD would have attached, so the very same
relabeling runs on loopback in the integration tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from components.monitoring import labels as L

_POD_META = "__meta_kubernetes_pod_"


def sd_label_name(name: str) -> str:
    """How Kubernetes SD spells a pod label or annotation name in __meta_
    labels: every character that is not [a-zA-Z0-9_] becomes "_"."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


@dataclass(frozen=True)
class DiscoveredTarget:
    """What Kubernetes SD would find: an address and its __meta_ labels."""

    address: str
    meta: Mapping[str, str] = field(default_factory=dict)


def pod_target(
    address: str,
    *,
    pod: str,
    namespace: str,
    pod_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> DiscoveredTarget:
    """Stand-in for a pod found by ``role: pod``."""
    meta = {f"{_POD_META}name": pod, "__meta_kubernetes_namespace": namespace}
    for key, value in (pod_labels or {}).items():
        meta[f"{_POD_META}label_{sd_label_name(key)}"] = value
        meta[f"{_POD_META}labelpresent_{sd_label_name(key)}"] = "true"
    for key, value in (annotations or {}).items():
        meta[f"{_POD_META}annotation_{sd_label_name(key)}"] = value
    return DiscoveredTarget(address, meta)


def endpoint_target(
    address: str, *, service: str, namespace: str, port_name: str, pod: str = "", node: str = ""
) -> DiscoveredTarget:
    """Stand-in for an endpoint found by ``role: endpoints``."""
    meta = {
        "__meta_kubernetes_service_name": service,
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_endpoint_port_name": port_name,
        f"{_POD_META}name": pod,
        f"{_POD_META}node_name": node,
    }
    return DiscoveredTarget(address, meta)


@dataclass(frozen=True)
class AnnotatedPodJob:
    """Pods that opt in with ``<prefix>/scrape: "true"`` (plus /port, /path, /scheme)."""

    name: str
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    annotation_prefix: str = L.SCRAPE_ANNOTATION_PREFIX
    scrape_interval: str | None = None


@dataclass(frozen=True)
class ServiceJob:
    """Endpoints of one Service in the monitoring namespace, one named port."""

    name: str
    service: str
    port_name: str = L.METRICS_PORT_NAME
    honor_labels: bool = False
    # cAdvisor reports other pods' containers: the pod/namespace labels of
    # the cAdvisor pod itself would collide with the ones it exports.
    pod_labels: bool = True
    # Pushed series describe batch jobs, not the node the Pushgateway runs on.
    node_label: bool = True
    metric_relabel_configs: tuple[Mapping, ...] = ()


@dataclass(frozen=True)
class StaticJob:
    """A fixed list of targets, e.g. an application's /metrics."""

    name: str
    targets: tuple[str, ...]
    metrics_path: str = "/metrics"
    scheme: str = "http"
    scrape_interval: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteWrite:
    url: str
    name: str | None = None
    username: str | None = None
    # Path of a mounted Secret file; the password itself is never rendered.
    password_file: str | None = None


# Standalone cAdvisor names the Kubernetes identity of a container with CRI
# labels; dashboards and alerts use the kubelet-style names.
CADVISOR_METRIC_RELABEL: tuple[Mapping, ...] = tuple(
    {"source_labels": [f"container_label_io_kubernetes_{src}"], "regex": "(.+)", "target_label": dst}
    for src, dst in (("pod_name", "pod"), ("pod_namespace", "namespace"), ("container_name", "container"))
) + ({"action": "labeldrop", "regex": "container_label_.*"},)


def default_service_jobs() -> tuple[ServiceJob, ...]:
    return (
        ServiceJob("node-exporter", "node-exporter"),
        ServiceJob("cadvisor", "cadvisor", pod_labels=False, metric_relabel_configs=CADVISOR_METRIC_RELABEL),
        # Pushed series carry their own job/instance; keep them.
        ServiceJob("pushgateway", "pushgateway", port_name=L.HTTP_PORT_NAME, honor_labels=True,
                   pod_labels=False, node_label=False),
        ServiceJob("alertmanager", "alertmanager", port_name=L.HTTP_PORT_NAME),
    )


@dataclass(frozen=True)
class PrometheusSpec:
    cluster: str
    environment: str
    namespace: str = "monitoring"
    scrape_interval: str = "30s"
    scrape_timeout: str = "10s"
    evaluation_interval: str = "30s"
    rule_files: tuple[str, ...] = (f"{L.PROMETHEUS_RULES_DIR}/*.yml",)
    # Empty: the alertmanager Service in ``namespace``.
    alertmanager_targets: tuple[str, ...] = ()
    self_target: str = f"localhost:{L.PROMETHEUS_PORT}"
    pod_jobs: tuple[AnnotatedPodJob, ...] = (AnnotatedPodJob("kubernetes-pods"),)
    service_jobs: tuple[ServiceJob, ...] = field(default_factory=default_service_jobs)
    static_jobs: tuple[StaticJob, ...] = ()
    remote_write: tuple[RemoteWrite, ...] = ()
    # job name -> targets standing in for what SD would discover (tests).
    static_overrides: Mapping[str, tuple[DiscoveredTarget, ...]] = field(default_factory=dict)
    # Each node's kubelet, for the PVC volume stats only (PVCs near full).
    kubelet_volume_stats: bool = False


SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def kubelet_job() -> dict:
    return {
        "job_name": "kubelet",
        "scheme": "https",
        "kubernetes_sd_configs": [{"role": "node"}],
        "authorization": {"credentials_file": f"{SA_DIR}/token"},
        # Kubelet serving certificates are usually self-signed per node; the
        # token still authenticates Prometheus, and only volume stats are kept.
        "tls_config": {"ca_file": f"{SA_DIR}/ca.crt", "insecure_skip_verify": True},
        "relabel_configs": [{"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"}],
        "metric_relabel_configs": [{"source_labels": ["__name__"], "action": "keep",
                                    "regex": "kubelet_volume_stats_(available|capacity|used)_bytes"}],
    }


def kube_state_metrics_job(port_name: str) -> "ServiceJob":
    # Its series name other objects' namespace and pod: keep those, and do
    # not add the kube-state-metrics pod's own.
    return ServiceJob("kube-state-metrics", "kube-state-metrics", port_name=port_name, honor_labels=True,
                      pod_labels=False, node_label=False)


def _annotation(prefix: str, name: str) -> str:
    return f"{_POD_META}annotation_{sd_label_name(f'{prefix}/{name}')}"


def _pod_relabel(prefix: str) -> list[dict]:
    return [
        {"source_labels": [_annotation(prefix, "scrape")], "action": "keep", "regex": "true"},
        {"source_labels": [_annotation(prefix, "scheme")], "regex": "(https?)", "target_label": "__scheme__"},
        {"source_labels": [_annotation(prefix, "path")], "regex": "(.+)", "target_label": "__metrics_path__"},
        {
            # Keep the pod IP, take the port from the annotation.
            "source_labels": ["__address__", _annotation(prefix, "port")],
            "regex": r"([^:]+)(?::\d+)?;(\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        {"source_labels": [f"{_POD_META}label_{sd_label_name(L.DEPLOYMENT_POD_LABEL)}"], "target_label": L.DEPLOYMENT},
        {"source_labels": [f"{_POD_META}label_{sd_label_name(L.TEAM_POD_LABEL)}"], "target_label": L.TEAM},
        {"source_labels": [f"{_POD_META}label_{sd_label_name(L.COMPONENT_POD_LABEL)}"], "target_label": L.COMPONENT},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": [f"{_POD_META}name"], "target_label": "pod"},
    ]


def _service_relabel(job: ServiceJob) -> list[dict]:
    rules = [
        {"source_labels": ["__meta_kubernetes_service_name"], "action": "keep", "regex": job.service},
        {"source_labels": ["__meta_kubernetes_endpoint_port_name"], "action": "keep", "regex": job.port_name},
    ]
    if job.node_label:
        rules.append({"source_labels": [f"{_POD_META}node_name"], "target_label": "node"})
    if job.pod_labels:
        rules += [
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": [f"{_POD_META}name"], "target_label": "pod"},
        ]
    return rules


def _discovery(spec: PrometheusSpec, job: str, sd: dict) -> dict:
    if job in spec.static_overrides:
        return {
            "static_configs": [
                {"targets": [t.address], "labels": dict(t.meta)} for t in spec.static_overrides[job]
            ]
        }
    return {"kubernetes_sd_configs": [sd]}


def _scrape_configs(spec: PrometheusSpec) -> list[dict]:
    jobs: list[dict] = [{"job_name": "prometheus", "static_configs": [{"targets": [spec.self_target]}]}]
    for pj in spec.pod_jobs:
        sd: dict = {"role": "pod"}
        if pj.namespaces:
            sd["namespaces"] = {"names": list(pj.namespaces)}
        job = {"job_name": pj.name, **_discovery(spec, pj.name, sd), "relabel_configs": _pod_relabel(pj.annotation_prefix)}
        if pj.scrape_interval:
            job["scrape_interval"] = pj.scrape_interval
        jobs.append(job)
    for sj in spec.service_jobs:
        sd = {"role": "endpoints", "namespaces": {"names": [spec.namespace]}}
        job = {"job_name": sj.name, **_discovery(spec, sj.name, sd), "relabel_configs": _service_relabel(sj)}
        if sj.honor_labels:
            job["honor_labels"] = True
        if sj.metric_relabel_configs:
            job["metric_relabel_configs"] = [dict(r) for r in sj.metric_relabel_configs]
        jobs.append(job)
    if spec.kubelet_volume_stats:
        jobs.append(kubelet_job())
    for st in spec.static_jobs:
        job = {"job_name": st.name, "metrics_path": st.metrics_path, "scheme": st.scheme}
        if st.scrape_interval:
            job["scrape_interval"] = st.scrape_interval
        static = {"targets": list(st.targets)}
        if st.labels:
            static["labels"] = dict(st.labels)
        job["static_configs"] = [static]
        jobs.append(job)
    names = [j["job_name"] for j in jobs]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate scrape job names: {sorted(n for n in names if names.count(n) > 1)}")
    unknown = set(spec.static_overrides) - set(names)
    if unknown:
        raise ValueError(f"static_overrides name jobs that do not exist: {sorted(unknown)}")
    return jobs


def render_remote_write(entries: tuple[RemoteWrite, ...]) -> list[dict]:
    out = []
    for rw in entries:
        entry: dict = {"url": rw.url}
        if rw.name:
            entry["name"] = rw.name
        if rw.username or rw.password_file:
            auth = {}
            if rw.username:
                auth["username"] = rw.username
            if rw.password_file:
                auth["password_file"] = rw.password_file
            entry["basic_auth"] = auth
        out.append(entry)
    return out


def build_prometheus_config(spec: PrometheusSpec) -> dict:
    """prometheus.yml as data."""
    am_targets = list(spec.alertmanager_targets) or [f"alertmanager.{spec.namespace}.svc:{L.ALERTMANAGER_PORT}"]
    config: dict = {
        "global": {
            "scrape_interval": spec.scrape_interval,
            "scrape_timeout": spec.scrape_timeout,
            "evaluation_interval": spec.evaluation_interval,
            "external_labels": {"cluster": spec.cluster, "environment": spec.environment},
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": am_targets}]}]},
        "rule_files": list(spec.rule_files),
        "scrape_configs": _scrape_configs(spec),
    }
    if spec.remote_write:
        config["remote_write"] = render_remote_write(spec.remote_write)
    return config


def render_prometheus_config(spec: PrometheusSpec) -> str:
    return yaml.safe_dump(build_prometheus_config(spec), sort_keys=False)
