"""Grafana: a Deployment with a PVC, a generated admin password in a Secret,
the provisioned Prometheus datasource and the dashboards built as code."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.common.k8s import config_hash, selector_of, claim_spec, container_security_context, labels, metadata, pod_security_context, resources
from components.monitoring import labels as L
from components.monitoring.component import BackedUpServerArgs, MonitoringServer
from components.monitoring.grafana_provisioning import GrafanaSpec, render_dashboard_provider, render_datasources
from components.monitoring.prometheus import service_spec

# The grafana user of the official image, which owns /var/lib/grafana there
# (scanners flag UIDs below 10000; another uid would not own the image's files).
GRAFANA_UID = 472


@dataclass(frozen=True)
class GrafanaServer:
    """How a Grafana runs and is exposed, as an environment's Monitoring and
    the global Federation both take it (the config's grafana section)."""

    image: str
    storage_size: str
    service_type: str = "ClusterIP"
    port: int = 3231
    load_balancer_source_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrafanaArgs(BackedUpServerArgs):
    server: GrafanaServer
    # Datasource and dashboard-provider provisioning are rendered from this.
    provisioning: GrafanaSpec
    dashboards: dict[str, str]
    name: str = "grafana"


class Grafana(MonitoringServer):
    def __init__(self, name: str, args: GrafanaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Grafana", name, args, "dashboards", opts)
        child, lbl, sel = self.child, self.labels, self.selector
        ns, app = args.namespace, args.name
        password = random.RandomPassword(
            f"{name}-admin-password", length=24, special=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
        )
        k8s.core.v1.Secret(
            f"{name}-admin",
            metadata=metadata(f"{app}-admin", ns, lbl),
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=child,
        )
        provisioning = {
            "datasources.yaml": render_datasources(args.provisioning),
            "dashboards.yaml": render_dashboard_provider(args.provisioning),
        }
        k8s.core.v1.ConfigMap(
            f"{name}-provisioning", metadata=metadata(f"{app}-provisioning", ns, lbl), data=provisioning, opts=child
        )
        k8s.core.v1.ConfigMap(f"{name}-dashboards", metadata=metadata(f"{app}-dashboards", ns, lbl), data=args.dashboards, opts=child)
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=metadata(f"{app}-data", ns, lbl),
            spec=claim_spec(args.storage_class_name, args.server.storage_size),
            opts=child,
        )
        # The image's run.sh reads every GF_*__FILE variable from the file it
        # names: the password reaches Grafana from the mounted Secret, never
        # as a value in the pod spec's environment.
        admin_dir = L.GRAFANA_SECRETS_DIR
        file_env = lambda env, key: {"name": f"{env}__FILE", "value": f"{admin_dir}/{key}"}  # noqa: E731
        health = {"httpGet": {"path": "/api/health", "port": "http"}}
        prov = L.GRAFANA_PROVISIONING_DIR
        sidecars: list[dict] = []
        sidecar_volumes: list[dict] = []
        pod_account: dict = {}
        if args.backup is not None:
            sidecar, sidecar_volumes = self.backup_sidecar(name, app, ns, args.backup, "grafana", "/var/lib/grafana", GRAFANA_UID)
            sidecars = [sidecar]
            # Its own account, so an IRSA role names only Grafana; no API token
            # (the EKS webhook projects the web identity token by itself).
            k8s.core.v1.ServiceAccount(
                f"{name}-sa", metadata=metadata(app, ns, lbl, args.service_account_annotations or None),
                automount_service_account_token=False, opts=child,
            )
            pod_account = {"serviceAccountName": app}
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(app, ns, lbl),
            spec={
                "replicas": 1,
                # One ReadWriteOnce volume: the old pod must let go before the new one starts.
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": sel},
                "template": {
                    "metadata": {
                        "labels": lbl,
                        "annotations": {"redis-platform/config-hash": config_hash(
                            provisioning | args.dashboards)},
                    },
                    "spec": {
                        **pod_account,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(GRAFANA_UID),
                        "containers": [
                            {
                                "name": "grafana",
                                "image": args.server.image,
                                "env": [
                                    file_env("GF_SECURITY_ADMIN_USER", "admin-user"),
                                    file_env("GF_SECURITY_ADMIN_PASSWORD", "admin-password"),
                                    {"name": "GF_SERVER_HTTP_PORT", "value": str(L.GRAFANA_PORT)},
                                    {"name": "GF_PATHS_PROVISIONING", "value": prov},
                                    {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
                                    {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
                                    {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
                                ],
                                "ports": [{"name": "http", "containerPort": L.GRAFANA_PORT}],
                                "resources": resources("100m", "256Mi", "1", "512Mi"),
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/var/lib/grafana"},
                                    {"name": "provisioning", "mountPath": f"{prov}/datasources/datasources.yaml", "subPath": "datasources.yaml", "readOnly": True},
                                    {"name": "provisioning", "mountPath": f"{prov}/dashboards/dashboards.yaml", "subPath": "dashboards.yaml", "readOnly": True},
                                    {"name": "dashboards", "mountPath": L.GRAFANA_DASHBOARDS_DIR, "readOnly": True},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                    {"name": "admin", "mountPath": admin_dir, "readOnly": True},
                                ],
                                "readinessProbe": {**health, "periodSeconds": 10},
                                "livenessProbe": {**health, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 5},
                                "securityContext": container_security_context(GRAFANA_UID),
                            },
                            *sidecars,
                        ],
                        "volumes": [
                            *sidecar_volumes,
                            {"name": "data", "persistentVolumeClaim": {"claimName": f"{app}-data"}},
                            {"name": "provisioning", "configMap": {"name": f"{app}-provisioning"}},
                            {"name": "dashboards", "configMap": {"name": f"{app}-dashboards"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                            # Readable by the pod's fsGroup (Grafana's gid) only.
                            {"name": "admin", "secret": {"secretName": f"{app}-admin", "defaultMode": 0o440}},
                        ],
                    },
                },
            },
            opts=child,
        )
        self.service(name, app, ns, service_spec(sel, args.server.port, "http", args.server.service_type,
                                                 args.server.load_balancer_source_ranges))
        self.port = args.server.port
        self.register_outputs({"service_host": self.service_host})
