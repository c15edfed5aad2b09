"""Grafana provisioning files: the Prometheus datasource and the dashboard
provider that loads the dashboard JSON mounted from a ConfigMap."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from components.monitoring import labels as L


@dataclass(frozen=True)
class GrafanaSpec:
    prometheus_url: str = f"http://prometheus.monitoring.svc:{L.PROMETHEUS_PORT}"
    datasource_uid: str = "prometheus"  # dashboards refer to it by this uid
    datasource_name: str = "Prometheus"
    # Matches the Prometheus scrape interval so $__rate_interval spans at least 4 scrapes.
    scrape_interval: str = "30s"
    folder: str = "Redis Platform"
    dashboards_dir: str = L.GRAFANA_DASHBOARDS_DIR


def build_datasources(spec: GrafanaSpec) -> dict:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": spec.datasource_name,
                "uid": spec.datasource_uid,
                "type": "prometheus",
                "access": "proxy",
                "url": spec.prometheus_url,
                "isDefault": True,
                "editable": False,
                "jsonData": {"timeInterval": spec.scrape_interval, "httpMethod": "POST"},
            }
        ],
    }


def build_dashboard_provider(spec: GrafanaSpec) -> dict:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "redis-platform",
                "orgId": 1,
                "folder": spec.folder,
                "type": "file",
                # Dashboards are code: edits in the UI would be lost on the next deploy.
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": spec.dashboards_dir},
            }
        ],
    }


def render_datasources(spec: GrafanaSpec) -> str:
    """For <provisioning>/datasources/prometheus.yaml."""
    return yaml.safe_dump(build_datasources(spec), sort_keys=False)


def render_dashboard_provider(spec: GrafanaSpec) -> str:
    """For <provisioning>/dashboards/redis-platform.yaml."""
    return yaml.safe_dump(build_dashboard_provider(spec), sort_keys=False)
