"""Names shared by the monitoring renderers, the components and the pods.

Pods opt in to scraping with the usual ``prometheus.io/*`` annotations; two
pod labels become series labels so alerts can be routed and grouped:
``app.kubernetes.io/instance`` names the Redis deployment and
``redis-platform/team`` names the team that owns it.
"""

from __future__ import annotations

# Series labels every Redis alert keeps, so Alertmanager can route by team
# and group/inhibit by deployment.
TEAM = "team"
DEPLOYMENT = "deployment"
# The pod group within a deployment (cluster-node, data-node, sentinel,
# frontend): Sentinels and data nodes export the same redis_up, and dashboards
# tell them apart by it.
COMPONENT = "component"

# Pod labels they come from (prometheus_config.py reads them from the
# __meta_ names Kubernetes SD gives them).
TEAM_POD_LABEL = "redis-platform/team"
DEPLOYMENT_POD_LABEL = "app.kubernetes.io/instance"
COMPONENT_POD_LABEL = "app.kubernetes.io/component"

SCRAPE_ANNOTATION_PREFIX = "prometheus.io"

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
PUSHGATEWAY_PORT = 9091
NODE_EXPORTER_PORT = 9100
CADVISOR_PORT = 8080
GRAFANA_PORT = 3000
HAPROXY_METRICS_PORT = 8405

# Paths as the containers see them.
PROMETHEUS_CONFIG_DIR = "/etc/prometheus"
PROMETHEUS_RULES_DIR = "/etc/prometheus/rules"
PROMETHEUS_SECRETS_DIR = "/etc/prometheus/secrets"
ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager"
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"
GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning"
GRAFANA_DASHBOARDS_DIR = "/var/lib/grafana/dashboards"
GRAFANA_SECRETS_DIR = "/etc/grafana/secrets"

# Service port names the service-discovered jobs keep.
METRICS_PORT_NAME = "metrics"
HTTP_PORT_NAME = "http"
