"""NetworkPolicy fragments: every namespace the program owns is default-deny
in both directions, and each pod group gets one policy that names who may
reach it (ingress) and what it may reach (egress). docs/security.md holds the
resulting table; tests/unit/test_network_policy_table.py evaluates the
rendered policies against it.

Pure: no Pulumi import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from components.common.redis_contract import EXPORTER_PORT, REDIS_PORT

# Cluster DNS as kubeadm, EKS and GKE label it.
DNS_NAMESPACE = "kube-system"
DNS_POD_SELECTOR = {"k8s-app": "kube-dns"}
# Link-local: the cloud instance metadata service (169.254.169.254) and the
# EKS pod identity agent live here. No pod of this program needs them (AWS
# access goes through IRSA's web identity token), and a pod that can reach
# them can borrow the node's credentials.
LINK_LOCAL = "169.254.0.0/16"
# The Kubernetes API as pods see it after kube-proxy's DNAT: 443 (EKS, GKE)
# or 6443 (kubeadm).
API_SERVER_PORTS = (443, 6443)
# Who scrapes: the monitoring stack's Prometheus server (its pod labels;
# components/monitoring/prometheus.py builds them with these values).
SCRAPER_SELECTOR = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
# Label a client's pods carry when the deployment's `clients` names no selector.
DEFAULT_CLIENT_LABEL = "redis-platform/client-of"
# On ops pods that move data to or from the object store (backup, restore).
OBJECT_STORAGE_LABEL = "redis-platform/object-storage"
# Pods that push metrics (backup outcomes) to the Pushgateway carry this label;
# the Pushgateway's policy admits them from any namespace.
PUSHER_LABEL = "redis-platform/metrics-pusher"


@dataclass(frozen=True)
class ClientsArgs:
    """Who may connect. An empty ``pod_selector`` with a ``namespace_selector``
    means every pod of the matching namespaces; with neither, nobody (the
    composition fills in the default label before it gets here)."""

    pod_selector: dict[str, str]
    namespace_selector: dict[str, str] = field(default_factory=dict)


def tcp(*ports: int | str) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def namespace_peer(namespace: str, pod_selector: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_selector is not None:
        peer["podSelector"] = {"matchLabels": dict(pod_selector)}
    return peer


def pods_peer(selector: dict[str, str]) -> dict[str, Any]:
    """Pods of the policy's own namespace."""
    return {"podSelector": {"matchLabels": dict(selector)}}


def client_peer(clients: ClientsArgs) -> dict[str, Any]:
    """Exactly what docs/security.md says: a namespace selector alone admits
    every pod of those namespaces (no hidden pod label); a pod selector alone
    admits those pods of the policy's namespace; both: those pods there."""
    peer: dict[str, Any] = {}
    if clients.namespace_selector:
        peer["namespaceSelector"] = {"matchLabels": dict(clients.namespace_selector)}
    if clients.pod_selector or not clients.namespace_selector:
        peer["podSelector"] = {"matchLabels": dict(clients.pod_selector)}
    return peer


def scraper_peer(monitoring_namespace: str) -> dict[str, Any]:
    return namespace_peer(monitoring_namespace, SCRAPER_SELECTOR)


def outside_peer(cidr: str = "0.0.0.0/0") -> dict[str, Any]:
    """Addresses outside the cluster's pods, never the link-local range."""
    block: dict[str, Any] = {"cidr": cidr}
    if cidr == "0.0.0.0/0":
        block["except"] = [LINK_LOCAL]
    return {"ipBlock": block}


# Any pod in any namespace: an in-cluster object store or scrape target.
# Some CNIs (Cilium) never match pod IPs with an ipBlock, so rules that may
# lead to a pod say so with this peer as well.
ANY_POD = {"namespaceSelector": {}}


def rule(direction: str, peers: list[dict[str, Any]], ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {("from" if direction == "ingress" else "to"): peers, "ports": ports}


def api_server_egress() -> dict[str, Any]:
    return rule("egress", [outside_peer()], tcp(*API_SERVER_PORTS))


def object_store_egress(endpoint: str | None) -> dict[str, Any]:
    """The egress rule of a pod that talks to the object store: its port only.
    AWS S3 (and STS for IRSA) are outside the cluster on 443; an
    S3-compatible endpoint may be a Service in the cluster, so any pod on its
    port as well."""
    if not endpoint:
        return rule("egress", [outside_peer()], tcp(443))
    url = urlsplit(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    return rule("egress", [outside_peer(), ANY_POD], tcp(port))


def policy_spec(selector: dict[str, str], ingress: list[dict[str, Any]], egress: list[dict[str, Any]]) -> dict[str, Any]:
    """Both directions always: an empty list means nothing is allowed that
    way beyond the namespace's DNS rule."""
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(selector)}, "policyTypes": ["Ingress", "Egress"]}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return spec


def default_deny_spec() -> dict[str, Any]:
    """Every pod of the namespace: nothing in, nothing out, unless a policy
    selecting it says so."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def dns_egress_spec() -> dict[str, Any]:
    """Every pod of the namespace may ask the cluster DNS (and nothing else by this policy)."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{
            "to": [namespace_peer(DNS_NAMESPACE, DNS_POD_SELECTOR)],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }],
    }


# A dot: no deployment's objects (DNS labels with "-" suffixes) can take these names.
BASELINE_NAMES = ("redis-platform.default-deny", "redis-platform.allow-dns")


def namespace_baseline() -> dict[str, dict[str, Any]]:
    """The two policies every namespace the program owns gets, by object name."""
    return dict(zip(BASELINE_NAMES, (default_deny_spec(), dns_egress_spec()), strict=True))


def network_policy_spec(
    selector: dict[str, str],
    peers: dict[str, str],
    clients: ClientsArgs,
    monitoring_namespace: str,
    client_ports: tuple[int, ...] = (REDIS_PORT,),
    peer_ports: tuple[int, ...] = (REDIS_PORT,),
    scrape_ports: tuple[int, ...] = (EXPORTER_PORT,),
    egress: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """One pod group of a Redis deployment: clients reach ``client_ports``,
    the monitoring namespace's Prometheus only ``scrape_ports`` (never the
    data port), pods of the same deployment (``peers``: nodes, Sentinels,
    HAProxy, bootstrap and ops Jobs) ``peer_ports``; ``egress`` is what the
    group itself may open."""
    ingress = [rule("ingress", [client_peer(clients)], tcp(*client_ports))] if client_ports else []
    if scrape_ports:
        ingress.append(rule("ingress", [scraper_peer(monitoring_namespace)], tcp(*scrape_ports)))
    if peer_ports:
        ingress.append(rule("ingress", [pods_peer(peers)], tcp(*peer_ports)))
    return policy_spec(selector, ingress, list(egress))


def peer_egress(peers: dict[str, str], ports: tuple[int, ...], components: tuple[str, ...] = ()) -> dict[str, Any]:
    """To pods of the policy's namespace matching ``peers`` and, if given,
    whose app.kubernetes.io/component is one of ``components``."""
    peer = pods_peer(peers)
    if components:
        peer["podSelector"]["matchExpressions"] = [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": sorted(components)}
        ]
    return rule("egress", [peer], tcp(*ports))


def client_egress_spec(clients: ClientsArgs, target: dict[str, str], ports: tuple[int, ...]) -> dict[str, Any] | None:
    """Clients chosen by pod selector alone live in the deployment's own
    namespace, which is default-deny: this lets them out to the group's
    client ports. Clients in other namespaces are their owners' business."""
    if clients.namespace_selector:
        return None
    return {
        "podSelector": {"matchLabels": dict(clients.pod_selector)},
        "policyTypes": ["Egress"],
        "egress": [rule("egress", [pods_peer(target)], tcp(*ports))],
    }
