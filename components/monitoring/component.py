"""What every monitoring ComponentResource sets up the same way: its type
token and the options its children take; for a server (Prometheus,
Alertmanager, Grafana) also its labels, selector and the Service that names it."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.claims import owned_volumes
from components.common.k8s import labels, metadata, selector_of


class MonitoringComponent(pulumi.ComponentResource):
    def __init__(self, kind: str, name: str, opts: pulumi.ResourceOptions | None):
        super().__init__(f"redis-platform:monitoring:{kind}", name, None, opts)
        self.child = pulumi.ResourceOptions(parent=self)


class MonitoringServer(MonitoringComponent):
    """``args`` has the server's ``namespace``, ``name`` and ``component_labels``."""

    service_host: str

    def __init__(self, kind: str, name: str, args: Any, component: str, opts: pulumi.ResourceOptions | None):
        super().__init__(kind, name, opts)
        self.labels = labels(kind.lower(), args.name, component, args.component_labels)
        self.selector = selector_of(self.labels)

    def statefulset(self, name: str, app: str, namespace: str, replicas: int, storage_class_name: str,
                    storage_size: str, template: dict[str, Any], **spec_fields: Any) -> None:
        """The server's StatefulSet, one ``data`` claim per replica. The claims
        are the program's own (components/common/claims.py): a size edit
        expands them instead of replacing the StatefulSet."""
        volume_fields, sts_opts = owned_volumes(self, name, namespace, app, replicas, self.selector, self.labels,
                                                storage_class_name, storage_size)
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=metadata(app, namespace, self.labels),
            spec={"serviceName": app, "replicas": replicas, **spec_fields, "selector": {"matchLabels": self.selector},
                  "template": template, **volume_fields},
            opts=sts_opts,
        )

    def service(self, name: str, app: str, namespace: str, spec: dict[str, Any]) -> None:
        """The Service named like the server; its DNS name is ``service_host``."""
        k8s.core.v1.Service(f"{name}-service", metadata=metadata(app, namespace, self.labels), spec=spec, opts=self.child)
        self.service_host = f"{app}.{namespace}.svc"


class MonitoringNamespace(MonitoringComponent):
    """A component that owns a monitoring namespace (an environment's
    Monitoring, the global Federation): every object it labels carries the
    environment, its NetworkPolicies guard the namespace, and its outputs are
    what the stack exports."""

    outputs: dict

    def __init__(self, kind: str, name: str, namespace: str, environment: str, component_labels: dict[str, str],
                 opts: pulumi.ResourceOptions | None):
        super().__init__(kind, name, opts)
        self.namespace = namespace
        self.extra = {"redis-platform/environment": environment, **component_labels}

    def network_policies(self, name: str, policies: dict[str, dict[str, Any]]) -> None:
        for policy, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=metadata(policy, self.namespace, labels(policy, policy, "network-policy", self.extra)),
                spec=spec, opts=self.child,
            )

    def publish(self, outputs: dict) -> None:
        self.outputs = outputs
        self.register_outputs(outputs)
