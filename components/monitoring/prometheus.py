"""Prometheus server: RBAC for Kubernetes service discovery, rendered config
and rules, a StatefulSet with its TSDB on a PVC, a reloader sidecar, a Service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import selector_of, container_security_context, labels, metadata, pod_security_context, resources
from components.monitoring import labels as L
from components.monitoring.component import BackedUpServerArgs, MonitoringServer
from components.monitoring.backup import GUARD_CONFIG, PROMETHEUS_LOOPBACK_PORT, guard_container, render_guard_config

NOBODY = 65534
RELOADER = (Path(__file__).parent / "scripts" / "config-reloader.sh").read_text()


@dataclass(frozen=True)
class PrometheusServer:
    """How an environment's Prometheus runs, keeps data, evaluates and is
    exposed (the config's prometheus section)."""

    image: str
    retention: str
    retention_size: str
    storage_size: str
    scrape_interval: str
    evaluation_interval: str
    service_type: str = "ClusterIP"
    load_balancer_source_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrometheusArgs(BackedUpServerArgs):
    """With ``backup``, TSDB snapshots: the admin API on loopback only, the
    pod's web port behind a guard (components/monitoring/backup.py)."""

    server: PrometheusServer
    config_yaml: str
    rule_files: dict[str, str]
    # Secret names mounted under PROMETHEUS_SECRETS_DIR/<name>/ (remote_write passwords).
    secret_mounts: tuple[str, ...] = ()
    name: str = "prometheus"
    # A federating Prometheus scrapes other servers only: no API access.
    kubernetes_discovery: bool = True


def discovery_rules() -> list[dict]:
    """What kubernetes_sd_configs and the kubelet/cAdvisor paths need, read-only."""
    return [
        {"apiGroups": [""], "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
    ]


def service_spec(selector: dict, port: int, target: str, service_type: str, ranges: tuple[str, ...]) -> dict:
    spec = {"type": service_type, "selector": selector, "ports": [{"name": "http", "port": port, "targetPort": target}]}
    if service_type == "LoadBalancer":
        spec["loadBalancerSourceRanges"] = list(ranges)
    return spec


class Prometheus(MonitoringServer):
    def __init__(self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Prometheus", name, args, "server", opts)
        child, lbl, sel = self.child, self.labels, self.selector
        ns, app = args.namespace, args.name

        # An API token only for Kubernetes service discovery (list/watch,
        # read-only ClusterRole below); a federation server without it gets none.
        k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=metadata(app, ns, lbl, args.service_account_annotations or None),
            automount_service_account_token=args.kubernetes_discovery, opts=child,
        )
        if args.kubernetes_discovery:
            role = k8s.rbac.v1.ClusterRole(
                f"{name}-discovery", metadata=metadata(f"{ns}-{app}-discovery", None, lbl), rules=discovery_rules(), opts=child
            )
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-discovery",
                metadata=metadata(f"{ns}-{app}-discovery", None, lbl),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.metadata["name"]},
                subjects=[{"kind": "ServiceAccount", "name": app, "namespace": ns}],
                opts=child,
            )
        config = {"prometheus.yml": args.config_yaml, "config-reloader.sh": RELOADER}
        k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata(f"{app}-config", ns, lbl), data=config, opts=child)
        k8s.core.v1.ConfigMap(f"{name}-rules", metadata=metadata(f"{app}-rules", ns, lbl), data=dict(args.rule_files), opts=child)

        mounts = [
            {"name": "config", "mountPath": L.PROMETHEUS_CONFIG_DIR, "readOnly": True},
            {"name": "rules", "mountPath": L.PROMETHEUS_RULES_DIR, "readOnly": True},
        ]
        volumes = [
            {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 0o555}},
            {"name": "rules", "configMap": {"name": f"{app}-rules"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ]
        for secret in args.secret_mounts:
            mounts.append({"name": f"secret-{secret}", "mountPath": f"{L.PROMETHEUS_SECRETS_DIR}/{secret}", "readOnly": True})
            # Optional: a Secret made outside the program (remote_write or
            # federation credentials) must not keep Prometheus from starting;
            # without it those requests fail and Prometheus's own
            # remote-write/scrape failure metrics show it.
            volumes.append({"name": f"secret-{secret}", "secret": {"secretName": secret, "defaultMode": 0o440, "optional": True}})
        http = {"httpGet": {"path": "/-/ready", "port": "http"}}
        healthy = {"httpGet": {"path": "/-/healthy", "port": "http"}}
        web_port = L.PROMETHEUS_PORT
        listen: list[str] = []
        if args.backup is not None:
            # Loopback only: the guard sidecar owns the pod's web port, and the
            # kubelet's probes cannot reach loopback, so they run in the pod.
            web_port = PROMETHEUS_LOOPBACK_PORT
            listen = [f"--web.listen-address=127.0.0.1:{web_port}", "--web.enable-admin-api"]
            http = {"exec": {"command": ["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{web_port}/-/ready"]}}
            healthy = {"exec": {"command": ["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{web_port}/-/healthy"]}}
        server = {
            "name": "prometheus",
            "image": args.server.image,
            "args": [
                f"--config.file={L.PROMETHEUS_CONFIG_DIR}/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={args.server.retention}",
                f"--storage.tsdb.retention.size={args.server.retention_size}",
                # /-/reload for the sidecar; only reachable inside the pod and
                # from the monitoring namespace.
                "--web.enable-lifecycle",
                "--web.route-prefix=/",
                *listen,
            ],
            "ports": [{"name": "http" if args.backup is None else "web-local", "containerPort": web_port}],
            "resources": resources("500m", "2Gi", "2", "4Gi"),
            "volumeMounts": mounts + [{"name": "data", "mountPath": "/prometheus"}],
            "readinessProbe": {**http, "periodSeconds": 10, "timeoutSeconds": 5},
            # WAL replay after a restart can take minutes on a big TSDB.
            "startupProbe": {**healthy, "periodSeconds": 15, "failureThreshold": 60},
            "livenessProbe": {**healthy, "periodSeconds": 30, "timeoutSeconds": 10, "failureThreshold": 4},
            "securityContext": container_security_context(NOBODY),
        }
        reloader = {
            "name": "config-reloader",
            "image": args.server.image,
            "command": ["sh", f"{L.PROMETHEUS_CONFIG_DIR}/config-reloader.sh"],
            "env": [
                {"name": "CONFIG_FILE", "value": f"{L.PROMETHEUS_CONFIG_DIR}/prometheus.yml"},
                {"name": "WATCH_DIRS", "value": f"{L.PROMETHEUS_CONFIG_DIR} {L.PROMETHEUS_RULES_DIR}"},
                {"name": "RELOAD_URL", "value": f"http://127.0.0.1:{web_port}/-/reload"},
            ],
            "resources": resources("10m", "32Mi", "100m", "64Mi"),
            "volumeMounts": mounts + [{"name": "tmp", "mountPath": "/tmp"}],
            # The loop touches a heartbeat file each round; a hung loop goes stale.
            "livenessProbe": {"exec": {"command": ["sh", "-c", "find /tmp/heartbeat -mmin -2 | grep -q ."]}, "initialDelaySeconds": 30, "periodSeconds": 60},
            "securityContext": container_security_context(NOBODY),
        }
        containers = [server, reloader]
        if args.backup is not None:
            guard, guard_volumes = guard_container(args.backup.guard_image, NOBODY, f"{app}-web-guard")
            k8s.core.v1.ConfigMap(f"{name}-web-guard", metadata=metadata(f"{app}-web-guard", ns, lbl),
                                  data={GUARD_CONFIG: render_guard_config()}, opts=child)
            sidecar, sidecar_volumes = self.backup_sidecar(name, app, ns, args.backup, "prometheus", "/prometheus", NOBODY)
            containers += [guard, sidecar]
            volumes += guard_volumes + sidecar_volumes
        self.statefulset(
            name, app, ns, 1, args.storage_class_name, args.server.storage_size,
            template={
                # No config-hash annotation: config changes reach the running
                # server through the reloader, without a restart.
                "metadata": {"labels": lbl},
                "spec": {
                    "serviceAccountName": app,
                    "securityContext": pod_security_context(NOBODY),
                    "terminationGracePeriodSeconds": 120,
                    "containers": containers,
                    "volumes": volumes,
                },
            },
        )
        self.service(name, app, ns, service_spec(sel, L.PROMETHEUS_PORT, "http", args.server.service_type, args.server.load_balancer_source_ranges))
        self.register_outputs({"service_host": self.service_host})
