"""A small NetworkPolicy evaluator for the rendered objects.

A connection from A to B on a TCP/UDP port is allowed when A's egress and
B's ingress both allow it (Kubernetes semantics: a pod selected by no policy
of a direction is open that way; once selected, only what some rule allows).
ipBlock peers match addresses outside the cluster only: that is what the API
promises for every CNI (Cilium never matches pod IPs with an ipBlock), so a
rule meant to reach a pod must say so with a pod or namespace selector.
Pods on the host network are outside NetworkPolicy altogether.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@dataclass(frozen=True)
class Endpoint:
    role: str
    namespace: str | None = None  # None: an address outside the cluster
    labels: tuple[tuple[str, str], ...] = ()
    address: str | None = None
    host_network: bool = False
    # A stand-in that only opens connections (a client): as a destination it
    # would only repeat "any other pod".
    source_only: bool = False

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def pod(role: str, namespace: str, labels: dict[str, str], host_network: bool = False, source_only: bool = False) -> Endpoint:
    return Endpoint(role, namespace, tuple(sorted(labels.items())), host_network=host_network, source_only=source_only)


def outside(role: str, address: str) -> Endpoint:
    return Endpoint(role, None, address=address)


def _template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


def workload_pods(objects: list[dict[str, Any]], role_of) -> list[Endpoint]:
    """One endpoint per distinct (namespace, pod labels) of every workload;
    ``role_of(labels)`` names it."""
    seen: dict[tuple, Endpoint] = {}
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        tpl = _template(obj)
        lbl = tpl["metadata"]["labels"]
        ns = obj["metadata"]["namespace"]
        key = (ns, tuple(sorted(lbl.items())))
        seen[key] = pod(role_of(lbl), ns, lbl, bool(tpl["spec"].get("hostNetwork")))
    return list(seen.values())


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and expr["key"] not in labels:
            return False
        if op == "DoesNotExist" and expr["key"] in labels:
            return False
    return True


@dataclass
class Cluster:
    policies: list[dict[str, Any]]
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def ns_labels(self, ns: str) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": ns, **self.namespace_labels.get(ns, {})}

    def _peer_matches(self, peer: dict[str, Any], policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            if other.namespace is not None:
                return False
            addr = ipaddress.ip_address(other.address)
            block = peer["ipBlock"]
            return addr in ipaddress.ip_network(block["cidr"]) and not any(
                addr in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if other.namespace is None:
            return False
        if "namespaceSelector" in peer:
            if not _selector_matches(peer["namespaceSelector"], self.ns_labels(other.namespace)):
                return False
        elif other.namespace != policy_ns:
            return False
        return _selector_matches(peer.get("podSelector"), other.label_map)

    @staticmethod
    def _port_matches(ports: list[dict[str, Any]] | None, port: int, proto: str) -> bool:
        if not ports:
            return True
        return any(p.get("protocol", "TCP") == proto and p.get("port") in (None, port) for p in ports)

    def _side(self, ep: Endpoint, other: Endpoint, port: int, proto: str, direction: str) -> bool:
        if ep.namespace is None or ep.host_network:
            return True
        kind, key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
        selecting = [
            p for p in self.policies
            if p["metadata"]["namespace"] == ep.namespace
            and kind in p["spec"].get("policyTypes", ["Ingress"])
            and _selector_matches(p["spec"].get("podSelector"), ep.label_map)
        ]
        if not selecting:
            return True
        for p in selecting:
            for r in p["spec"].get(direction, []):
                peers = r.get(key)
                if self._port_matches(r.get("ports"), port, proto) and (
                    not peers or any(self._peer_matches(peer, ep.namespace, other) for peer in peers)
                ):
                    return True
        return False

    def allows(self, src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
        if src.namespace is None and dst.namespace is None:
            return False
        return self._side(src, dst, port, proto, "egress") and self._side(dst, src, port, proto, "ingress")

    def ports(self) -> set[tuple[int, str]]:
        out = set()
        for p in self.policies:
            for direction in ("ingress", "egress"):
                for r in p["spec"].get(direction, []):
                    out |= {(q["port"], q.get("protocol", "TCP")) for q in r.get("ports", [])}
        return out


def allowed_pairs(cluster: Cluster, endpoints: list[Endpoint], owned: set[str], extra_ports=()) -> set[tuple[str, str, str]]:
    """(from role, to role, "port/proto") for every allowed connection that
    starts or ends in one of the ``owned`` namespaces."""
    ports = cluster.ports() | set(extra_ports)
    out = set()
    for src in endpoints:
        for dst in endpoints:
            if dst.source_only or not ({src.namespace, dst.namespace} & owned):
                continue
            for port, proto in ports:
                if cluster.allows(src, dst, port, proto):
                    out.add((src.role, dst.role, f"{port}" if proto == "TCP" else f"{port}/{proto.lower()}"))
    return out
