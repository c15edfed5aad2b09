"""What every monitoring ComponentResource sets up the same way: its type
token and the options its children take; for a server (Prometheus,
Alertmanager, Grafana) also its labels, selector and the Service that names it;
for a server whose data a sidecar backs up (Prometheus, Grafana) the args
both take and that sidecar."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.claims import owned_volumes
from components.common.k8s import labels, metadata, selector_of
from components.monitoring.backup import SCRIPT_NAME, MonitoringBackupSpec, backup_container, backup_script


# Keyword-only: each server's own fields stay first and positional.
@dataclass(frozen=True, kw_only=True)
class BackedUpServerArgs:
    """What Prometheus and Grafana take alike besides their own settings."""

    namespace: str
    storage_class_name: str
    component_labels: dict[str, str] = field(default_factory=dict)
    # The server's data volume to the object store by a sidecar (components/monitoring/backup.py).
    backup: MonitoringBackupSpec | None = None
    # IRSA role annotation of the pod's ServiceAccount, for that sidecar.
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)


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

    def backup_sidecar(self, name: str, app: str, namespace: str, spec: MonitoringBackupSpec, kind: str,
                       data_dir: str, uid: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The backup sidecar and the volumes it adds; its script goes in a ConfigMap of its own."""
        k8s.core.v1.ConfigMap(f"{name}-backup", metadata=metadata(f"{app}-backup", namespace, self.labels),
                              data={SCRIPT_NAME: backup_script()}, opts=self.child)
        return backup_container(spec, kind, data_dir, uid, f"{app}-backup")


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
