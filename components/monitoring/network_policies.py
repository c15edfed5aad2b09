"""NetworkPolicies of the monitoring namespaces (per environment and the
federation's): each server reachable only by who needs it, Prometheus out
only to scrape ports. The namespace's default-deny and DNS policies are
made where the namespace is (stacks/platform.py).

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from components.common.k8s import selector_labels
from components.common.network_policy import (
    ANY_POD,
    PUSHER_LABEL,
    api_server_egress,
    object_store_egress,
    outside_peer,
    pods_peer,
    policy_spec,
    rule,
    tcp,
)
from components.monitoring import labels as L

# Pods of any namespace with this label may push to the Pushgateway
# (docs/security.md); nothing else may.


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def target_port(target: str, scheme: str = "http") -> int:
    """Port of a static scrape target ``host:port`` (or the scheme's default)."""
    host_port = target.rsplit("]", 1)[-1]
    if ":" in host_port:
        return int(host_port.rsplit(":", 1)[1])
    return 443 if scheme == "https" else 80


def service_peers(service_type: str, source_ranges: tuple[str, ...]) -> list[dict[str, Any]]:
    """Who a NodePort or LoadBalancer Service exposes the pod to: its source
    ranges, or anywhere outside (a NodePort has no ranges); ClusterIP: nobody."""
    if service_type == "ClusterIP":
        return []
    if service_type == "LoadBalancer" and source_ranges:
        return [outside_peer(cidr) for cidr in source_ranges]
    return [outside_peer()]


@dataclass(frozen=True)
class ServerAccess:
    """One HTTP server's ingress: extra peers (NetworkPolicy peer dicts) and
    how its Service is exposed."""

    peers: tuple[dict[str, Any], ...] = ()
    service_type: str = "ClusterIP"
    source_ranges: tuple[str, ...] = ()

    def ingress(self, port: int, *more: dict[str, Any]) -> list[dict[str, Any]]:
        peers = [*more, *self.peers, *service_peers(self.service_type, self.source_ranges)]
        return [rule("ingress", peers, tcp(port))] if peers else []


@dataclass(frozen=True)
class MonitoringPolicyArgs:
    prometheus: str = "prometheus"  # app.kubernetes.io/instance of each server
    alertmanager: str | None = "alertmanager"
    grafana: str | None = "grafana"
    pushgateway: bool = True
    cadvisor: bool = True
    # kube-state-metrics: (metrics port, telemetry port), or None.
    kube_state_metrics: tuple[int, int] | None = None
    # Alertmanager replicas gossip among themselves on this port (TCP and UDP); None: one replica.
    alertmanager_gossip_port: int | None = None
    prometheus_access: ServerAccess = field(default_factory=ServerAccess)
    alertmanager_access: ServerAccess = field(default_factory=ServerAccess)
    grafana_access: ServerAccess = field(default_factory=ServerAccess)
    # Ports Prometheus scrapes, federates and remote-writes to, anywhere.
    egress_ports: tuple[int, ...] = ()
    # Prometheus lists pods, services and endpoints for service discovery.
    kubernetes_discovery: bool = True
    # Servers whose backup sidecar uploads to the object store and pushes its
    # outcome to the Pushgateway ("prometheus", "grafana"), and the store's endpoint.
    backup_servers: tuple[str, ...] = ()
    backup_endpoint: str | None = None


def prometheus_selector(instance: str) -> dict[str, str]:
    return selector_labels("prometheus", instance, "server")


def monitoring_policies(args: MonitoringPolicyArgs) -> dict[str, dict[str, Any]]:
    """Policy name -> spec, one per server of the namespace."""
    prom = pods_peer(prometheus_selector(args.prometheus))
    egress = [rule("egress", [outside_peer(), ANY_POD], tcp(*sorted(set(args.egress_ports))))]
    if args.kubernetes_discovery:
        egress.append(api_server_egress())
    store = object_store_egress(args.backup_endpoint)
    if "prometheus" in args.backup_servers:
        egress.append(store)
    grafana = pods_peer(selector_labels("grafana", args.grafana, "dashboards")) if args.grafana else None
    out = {
        args.prometheus: policy_spec(
            prometheus_selector(args.prometheus),
            args.prometheus_access.ingress(L.PROMETHEUS_PORT, *([grafana] if grafana else [])),
            egress,
        )
    }
    if args.alertmanager:
        am_sel = selector_labels("alertmanager", args.alertmanager, "alerting")
        ingress = args.alertmanager_access.ingress(L.ALERTMANAGER_PORT, prom)
        # Receivers (Slack, the pager) are HTTPS endpoints outside the cluster.
        egress = [rule("egress", [outside_peer()], tcp(443))]
        if args.alertmanager_gossip_port is not None:
            gossip = tcp(args.alertmanager_gossip_port) + [{"protocol": "UDP", "port": args.alertmanager_gossip_port}]
            ingress.append(rule("ingress", [pods_peer(am_sel)], gossip))
            egress.append(rule("egress", [pods_peer(am_sel)], gossip))
        out[args.alertmanager] = policy_spec(am_sel, ingress, egress)
    if args.grafana:
        out[args.grafana] = policy_spec(
            selector_labels("grafana", args.grafana, "dashboards"),
            args.grafana_access.ingress(L.GRAFANA_PORT),
            # Its one datasource; with backups, the store and the Pushgateway.
            [rule("egress", [prom], tcp(L.PROMETHEUS_PORT))] + (
                [store, rule("egress", [pods_peer(selector_labels("pushgateway", "pushgateway", "exporter"))],
                             tcp(L.PUSHGATEWAY_PORT))] if "grafana" in args.backup_servers else []),
        )
    if args.pushgateway:
        pushers = {"namespaceSelector": {}, "podSelector": {"matchLabels": {PUSHER_LABEL: "true"}}}
        out["pushgateway"] = policy_spec(
            selector_labels("pushgateway", "pushgateway", "exporter"),
            [rule("ingress", [prom, pushers, *([grafana] if grafana and "grafana" in args.backup_servers else [])],
                  tcp(L.PUSHGATEWAY_PORT))],
            [],
        )
    if args.cadvisor:
        out["cadvisor"] = policy_spec(
            selector_labels("cadvisor", "cadvisor", "exporter"), [rule("ingress", [prom], tcp(L.CADVISOR_PORT))], []
        )
    if args.kube_state_metrics is not None:
        out["kube-state-metrics"] = policy_spec(
            selector_labels("kube-state-metrics", "kube-state-metrics", "exporter"),
            [rule("ingress", [prom], tcp(*args.kube_state_metrics))],
            # It lists and watches objects: the API server only.
            [api_server_egress()],
        )
    # node-exporter runs on the host network, where NetworkPolicies do not
    # apply; the node's own firewall guards port 9100.
    return out
