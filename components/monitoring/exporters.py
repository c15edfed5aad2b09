"""node-exporter and cAdvisor DaemonSets, and the Pushgateway, each with the
Service the scrape jobs discover them by (seed 002's mounts and flags)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import selector_of, ALLOW_HOST_NETWORK, container_security_context, labels, metadata, pod_security_context, resources
from components.monitoring import labels as L
from components.monitoring.prometheus import NOBODY

# Run on every node, whatever its taints: a node without metrics is a blind spot.
TOLERATE_ALL = [{"operator": "Exists"}]


@dataclass(frozen=True)
class ExportersArgs:
    namespace: str
    node_exporter_image: str | None
    cadvisor_image: str | None
    pushgateway_image: str | None
    cadvisor_housekeeping_interval: str = "10s"
    cadvisor_storage_duration: str = "1m"
    component_labels: dict[str, str] = field(default_factory=dict)


def _sel(lbl: dict[str, str]) -> dict[str, str]:
    return selector_of(lbl)


def _headless(parent, name: str, ns: str, lbl: dict, port_name: str, port: int) -> None:
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=metadata(name, ns, lbl),
        spec={"clusterIP": "None", "selector": _sel(lbl), "ports": [{"name": port_name, "port": port, "targetPort": port_name}]},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _host_path(name: str, path: str) -> dict:
    return {"name": name, "hostPath": {"path": path}}


def node_exporter_pod(image: str) -> dict:
    http = {"httpGet": {"path": "/", "port": L.METRICS_PORT_NAME}}
    return {
        # Host network and PID namespace: node-exporter reports the node's own
        # network interfaces and processes, not the pod's.
        "hostNetwork": True,
        "hostPID": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "automountServiceAccountToken": False,
        "tolerations": TOLERATE_ALL,
        "securityContext": pod_security_context(NOBODY),
        "containers": [
            {
                "name": "node-exporter",
                "image": image,
                "args": [
                    "--path.procfs=/host/proc",
                    "--path.sysfs=/host/sys",
                    "--path.rootfs=/host/root",
                    "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)",
                    f"--web.listen-address=:{L.NODE_EXPORTER_PORT}",
                ],
                # On the host network the port is the host's anyway; hostPort
                # says so in the spec (and the scheduler keeps two off one node).
                "ports": [{"name": L.METRICS_PORT_NAME, "containerPort": L.NODE_EXPORTER_PORT, "hostPort": L.NODE_EXPORTER_PORT}],
                "resources": resources("50m", "64Mi", "250m", "128Mi"),
                # Host /proc, /sys and / read-only: the node's CPU, memory and filesystems.
                "volumeMounts": [
                    {"name": "proc", "mountPath": "/host/proc", "readOnly": True},
                    {"name": "sys", "mountPath": "/host/sys", "readOnly": True},
                    {"name": "root", "mountPath": "/host/root", "readOnly": True, "mountPropagation": "HostToContainer"},
                ],
                "readinessProbe": {**http, "periodSeconds": 15},
                "livenessProbe": {**http, "periodSeconds": 30, "timeoutSeconds": 5},
                "securityContext": container_security_context(NOBODY),
            }
        ],
        "volumes": [_host_path("proc", "/proc"), _host_path("sys", "/sys"), _host_path("root", "/")],
    }


def cadvisor_pod(image: str, housekeeping: str, storage_duration: str) -> dict:
    http = {"httpGet": {"path": "/healthz", "port": L.METRICS_PORT_NAME}}
    # No securityContext of the pod's own: cAdvisor runs as root, privileged
    # (below), unconfined by seccomp; what it reads on the node takes all three.
    # tests/unit/test_scanner_allowlist.py lists every such setting with its reason.
    return {
        "automountServiceAccountToken": False,
        "tolerations": TOLERATE_ALL,
        "containers": [
            {
                "name": "cadvisor",
                "image": image,
                "args": [
                    # containerd nodes: watch every cgroup, not only Docker's.
                    "--docker_only=false",
                    f"--housekeeping_interval={housekeeping}",
                    # Prometheus keeps history; cAdvisor only needs the latest samples.
                    f"--storage_duration={storage_duration}",
                    "--store_container_labels=false",
                    "--whitelisted_container_labels=io.kubernetes.container.name,io.kubernetes.pod.name,io.kubernetes.pod.namespace",
                    "--disable_metrics=percpu,sched,tcp,udp,advtcp,process,hugetlb,referenced_memory,resctrl",
                    f"--port={L.CADVISOR_PORT}",
                ],
                "ports": [{"name": L.METRICS_PORT_NAME, "containerPort": L.CADVISOR_PORT}],
                "resources": resources("100m", "128Mi", "500m", "384Mi"),
                # The seed's mounts: host root, runtime sockets, cgroups (/sys),
                # container storage and disk ids, all read-only.
                "volumeMounts": [
                    {"name": "rootfs", "mountPath": "/rootfs", "readOnly": True},
                    {"name": "var-run", "mountPath": "/var/run", "readOnly": True},
                    {"name": "sys", "mountPath": "/sys", "readOnly": True},
                    {"name": "containerd", "mountPath": "/var/lib/containerd", "readOnly": True},
                    {"name": "docker", "mountPath": "/var/lib/docker", "readOnly": True},
                    {"name": "disk", "mountPath": "/dev/disk", "readOnly": True},
                ],
                "readinessProbe": {**http, "periodSeconds": 15},
                "livenessProbe": {**http, "periodSeconds": 30, "timeoutSeconds": 5},
                # cAdvisor reads every container's cgroup files and /dev/kmsg
                # (OOM events); that takes a privileged container.
                "securityContext": {"privileged": True, "readOnlyRootFilesystem": True},
            }
        ],
        "volumes": [
            _host_path("rootfs", "/"),
            _host_path("var-run", "/var/run"),
            _host_path("sys", "/sys"),
            _host_path("containerd", "/var/lib/containerd"),
            _host_path("docker", "/var/lib/docker"),
            _host_path("disk", "/dev/disk"),
        ],
    }


def pushgateway_pod(image: str) -> dict:
    http = {"httpGet": {"path": "/-/ready", "port": L.HTTP_PORT_NAME}}
    return {
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(NOBODY),
        "containers": [
            {
                "name": "pushgateway",
                "image": image,
                "ports": [{"name": L.HTTP_PORT_NAME, "containerPort": L.PUSHGATEWAY_PORT}],
                "resources": resources("20m", "32Mi", "200m", "128Mi"),
                "readinessProbe": {**http, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": L.HTTP_PORT_NAME}, "periodSeconds": 30},
                "securityContext": container_security_context(NOBODY),
            }
        ],
    }


def _daemonset(parent, name: str, ns: str, args: ExportersArgs, pod: dict, port: int, annotations: dict | None = None) -> None:
    """An exporter on every node, and the headless Service its scrape job discovers."""
    lbl = labels(name, name, "exporter", args.component_labels)
    template_meta = {"labels": lbl} | ({"annotations": annotations} if annotations else {})
    k8s.apps.v1.DaemonSet(
        name,
        metadata=metadata(name, ns, lbl),
        spec={
            "selector": {"matchLabels": _sel(lbl)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {"metadata": template_meta, "spec": pod},
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
    _headless(parent, name, ns, lbl, L.METRICS_PORT_NAME, port)


class Exporters(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExportersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:monitoring:Exporters", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        self.pushgateway_host: str | None = None
        if args.node_exporter_image:
            _daemonset(self, "node-exporter", ns, args, node_exporter_pod(args.node_exporter_image),
                       L.NODE_EXPORTER_PORT, {ALLOW_HOST_NETWORK: "true"})
        if args.cadvisor_image:
            _daemonset(self, "cadvisor", ns, args, cadvisor_pod(
                args.cadvisor_image, args.cadvisor_housekeeping_interval, args.cadvisor_storage_duration), L.CADVISOR_PORT)
        if args.pushgateway_image:
            lbl = labels("pushgateway", "pushgateway", "exporter", args.component_labels)
            k8s.apps.v1.Deployment(
                "pushgateway",
                metadata=metadata("pushgateway", ns, lbl),
                spec={
                    "replicas": 1,
                    "selector": {"matchLabels": _sel(lbl)},
                    "template": {"metadata": {"labels": lbl}, "spec": pushgateway_pod(args.pushgateway_image)},
                },
                opts=child,
            )
            k8s.core.v1.Service(
                "pushgateway-service",
                metadata=metadata("pushgateway", ns, lbl),
                spec={"selector": _sel(lbl), "ports": [{"name": L.HTTP_PORT_NAME, "port": L.PUSHGATEWAY_PORT, "targetPort": L.HTTP_PORT_NAME}]},
                opts=child,
            )
            self.pushgateway_host = f"pushgateway.{ns}.svc"
        self.register_outputs({"pushgateway_host": self.pushgateway_host})
