"""kube-state-metrics: the state of Kubernetes objects as series, so a Redis
pod that is Pending or was deleted (no scrape target, so no RedisDown), a
StatefulSet short of ready replicas or a failed backup Job is seen.

Least privilege: it is built with only the collectors the rules read
(``RESOURCES``), and its ClusterRole allows list and watch on exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import (container_security_context, labels, metadata, pod_security_context, resources,
                                   selector_of)
from components.monitoring import labels as L
from components.monitoring.prometheus import NOBODY

NAME = "kube-state-metrics"
METRICS_PORT = 8080
TELEMETRY_PORT = 8081
PORT_NAME = "http-metrics"

# API group -> resources (plural) it watches; the collector names are the same.
RESOURCES: dict[str, tuple[str, ...]] = {
    "": ("pods", "persistentvolumeclaims"),
    "apps": ("statefulsets", "deployments"),
    "batch": ("jobs", "cronjobs"),
}
# Object labels exported as label_<name> on kube_<kind>_labels: the rules
# route by them (objects of a Redis deployment carry both).
ROUTING_LABELS = ("redis-platform/deployment", "redis-platform/team")


def collectors() -> list[str]:
    return sorted(r for group in RESOURCES.values() for r in group)


def ksm_args() -> list[str]:
    allow = ",".join(f"{r}=[{','.join(ROUTING_LABELS)}]" for r in collectors())
    return [
        f"--resources={','.join(collectors())}",
        f"--metric-labels-allowlist={allow}",
        f"--port={METRICS_PORT}",
        f"--telemetry-port={TELEMETRY_PORT}",
    ]


def cluster_role_rules() -> list[dict]:
    return [{"apiGroups": [group], "resources": list(res), "verbs": ["list", "watch"]} for group, res in RESOURCES.items()]


@dataclass(frozen=True)
class KubeStateMetricsArgs:
    namespace: str
    image: str
    component_labels: dict[str, str] = field(default_factory=dict)


class KubeStateMetrics(pulumi.ComponentResource):
    def __init__(self, name: str, args: KubeStateMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:monitoring:KubeStateMetrics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        lbl = labels(NAME, NAME, "exporter", args.component_labels)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata(NAME, ns, lbl), opts=child)
        role = k8s.rbac.v1.ClusterRole(f"{name}-role", metadata=metadata(f"{ns}-{NAME}", None, lbl),
                                       rules=cluster_role_rules(), opts=child)
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding", metadata=metadata(f"{ns}-{NAME}", None, lbl),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.metadata["name"]},
            subjects=[{"kind": "ServiceAccount", "name": sa.metadata["name"], "namespace": ns}], opts=child)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(NAME, ns, lbl),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": selector_of(lbl)},
                "template": {
                    "metadata": {"labels": lbl},
                    "spec": {
                        # The API token is mounted (the default): kube-state-metrics
                        # lists and watches the objects it reports on, nothing else.
                        "serviceAccountName": NAME,
                        "securityContext": pod_security_context(NOBODY),
                        "containers": [{
                            "name": NAME,
                            "image": args.image,
                            "args": ksm_args(),
                            "ports": [{"name": PORT_NAME, "containerPort": METRICS_PORT},
                                      {"name": "telemetry", "containerPort": TELEMETRY_PORT}],
                            "resources": resources("50m", "64Mi", "250m", "256Mi"),
                            "livenessProbe": {"httpGet": {"path": "/livez", "port": PORT_NAME}, "periodSeconds": 30,
                                              "timeoutSeconds": 5},
                            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "telemetry"}, "periodSeconds": 10},
                            "securityContext": container_security_context(NOBODY),
                        }],
                    },
                },
            },
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(NAME, ns, lbl),
            spec={"selector": selector_of(lbl), "ports": [{"name": PORT_NAME, "port": METRICS_PORT, "targetPort": PORT_NAME}]},
            opts=child,
        )
        self.register_outputs({})
