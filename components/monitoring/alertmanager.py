"""Alertmanager: a StatefulSet of gossiping replicas whose config, Slack
webhooks and pager key live in one Secret (files the config names)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import config_hash, container_security_context, metadata, pod_security_context, resources
from components.monitoring import labels as L
from components.monitoring.alertmanager_config import DEFAULT_WEBHOOK_FILE
from components.monitoring.component import MonitoringServer
from components.monitoring.prometheus import NOBODY

WEBHOOK_KEY = DEFAULT_WEBHOOK_FILE.rsplit("/", 1)[1]
CLUSTER_PORT = 9094


def alertmanager_peers(namespace: str, replicas: int, port: int, app: str = "alertmanager") -> tuple[str, ...]:
    """Each replica's stable address through the headless Service."""
    return tuple(f"{app}-{i}.{app}.{namespace}.svc:{port}" for i in range(replicas))


@dataclass(frozen=True)
class AlertmanagerArgs:
    namespace: str
    image: str
    config_yaml: str
    # The Slack incoming-webhook URL, a Pulumi secret; None sends nowhere (logged).
    slack_webhook_url: pulumi.Input[str] | None
    storage_size: str
    storage_class_name: str
    component_labels: dict[str, str] = field(default_factory=dict)
    name: str = "alertmanager"
    # More Secret files (team webhooks, pager key): file name -> secret value.
    secret_files: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    replicas: int = 3


def cluster_args(namespace: str, replicas: int, app: str) -> list[str]:
    if replicas == 1:
        return ["--cluster.listen-address="]
    return [
        f"--cluster.listen-address=0.0.0.0:{CLUSTER_PORT}",
        f"--cluster.advertise-address=$(POD_IP):{CLUSTER_PORT}",
        *(f"--cluster.peer={peer}" for peer in alertmanager_peers(namespace, replicas, CLUSTER_PORT, app)),
    ]


class Alertmanager(MonitoringServer):
    def __init__(self, name: str, args: AlertmanagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Alertmanager", name, args, "alerting", opts)
        child, lbl, sel = self.child, self.labels, self.selector
        ns, app = args.namespace, args.name
        webhook = pulumi.Output.secret(args.slack_webhook_url if args.slack_webhook_url is not None else "")
        k8s.core.v1.Secret(
            f"{name}-config",
            metadata=metadata(f"{app}-config", ns, lbl),
            type="Opaque",
            # The config names the webhook by file (api_url_file), never inline.
            string_data={"alertmanager.yml": args.config_yaml, WEBHOOK_KEY: webhook,
                         **{k: pulumi.Output.secret(v) for k, v in args.secret_files.items()}},
            opts=child,
        )
        probe = {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10}
        self.statefulset(
            name, app, ns, args.replicas, args.storage_class_name, args.storage_size,
            # Replicas find each other by DNS; none waits for another.
            podManagementPolicy="Parallel",
            template={
                # Alertmanager does not watch its file: a new config rolls the pod.
                "metadata": {"labels": lbl, "annotations": {"redis-platform/config-hash": config_hash({"c": args.config_yaml})}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(NOBODY),
                    "containers": [
                        {
                            "name": "alertmanager",
                            "image": args.image,
                            "args": [
                                f"--config.file={L.ALERTMANAGER_SECRETS_DIR}/alertmanager.yml",
                                "--storage.path=/alertmanager",
                                *cluster_args(ns, args.replicas, app),
                            ],
                            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                            "ports": [{"name": "http", "containerPort": L.ALERTMANAGER_PORT},
                                      {"name": "cluster", "containerPort": CLUSTER_PORT, "protocol": "TCP"},
                                      {"name": "cluster-udp", "containerPort": CLUSTER_PORT, "protocol": "UDP"}],
                            "resources": resources("50m", "64Mi", "200m", "256Mi"),
                            "volumeMounts": [
                                {"name": "config", "mountPath": L.ALERTMANAGER_SECRETS_DIR, "readOnly": True},
                                {"name": "data", "mountPath": "/alertmanager"},
                            ],
                            "readinessProbe": probe,
                            "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": "http"}, "periodSeconds": 30},
                            "securityContext": container_security_context(NOBODY),
                        }
                    ],
                    "volumes": [{"name": "config", "secret": {"secretName": f"{app}-config", "defaultMode": 0o440}}],
                },
            },
        )
        # Headless: each replica has its own DNS name, which the peers and
        # Prometheus (it must send every alert to every replica) use; peers must
        # find each other before they are ready.
        self.service(name, app, ns, {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": sel,
            "ports": [
                {"name": L.HTTP_PORT_NAME, "port": L.ALERTMANAGER_PORT, "targetPort": "http"},
                {"name": "cluster", "port": CLUSTER_PORT, "targetPort": "cluster", "protocol": "TCP"},
                {"name": "cluster-udp", "port": CLUSTER_PORT, "targetPort": "cluster-udp", "protocol": "UDP"},
            ],
        })
        self.register_outputs({"service_host": self.service_host})
