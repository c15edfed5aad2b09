"""What every monitoring ComponentResource sets up the same way: its type
token and the options its children take; for a server (Prometheus,
Alertmanager, Grafana) also its labels, selector and the Service that names it."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

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
