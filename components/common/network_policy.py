"""The ingress NetworkPolicy every pod group of a deployment gets: clients,
monitoring and the deployment's own peers, each to its own ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.common.redis_contract import EXPORTER_PORT, REDIS_PORT


@dataclass(frozen=True)
class ClientsArgs:
    pod_selector: dict[str, str]
    namespace_selector: dict[str, str] = field(default_factory=dict)


def _port(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def network_policy_spec(
    selector: dict[str, str],
    peers: dict[str, str],
    clients: ClientsArgs,
    monitoring_namespace: str,
    client_ports: tuple[int, ...] = (REDIS_PORT,),
    peer_ports: tuple[int, ...] = (REDIS_PORT,),
) -> dict[str, Any]:
    """Ingress only: clients and monitoring reach the client ports and the
    exporter; pods of the same deployment (``peers``: Redis nodes, Sentinels,
    HAProxy, bootstrap and backup Jobs) reach ``peer_ports`` (the cluster bus
    among them)."""
    client_peer: dict[str, Any] = {"podSelector": {"matchLabels": clients.pod_selector}}
    if clients.namespace_selector:
        client_peer["namespaceSelector"] = {"matchLabels": clients.namespace_selector}
    monitoring_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}}}
    return {
        "podSelector": {"matchLabels": selector},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [client_peer], "ports": [_port(p) for p in client_ports]},
            {"from": [monitoring_peer], "ports": [_port(p) for p in (*client_ports, EXPORTER_PORT)]},
            {"from": [{"podSelector": {"matchLabels": peers}}], "ports": [_port(p) for p in peer_ports]},
        ],
    }
