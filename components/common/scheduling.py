"""Where the pods of one deployment run: anti-affinity and zone spread,
node selection, and the PodDisruptionBudget that bounds voluntary evictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlacementArgs:
    anti_affinity: str = "preferred"
    zone_weight: int = 100
    host_weight: int = 99
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()
    host_network: bool = False


def placement(selector: dict[str, str], args: PlacementArgs) -> dict[str, Any]:
    """Pod spec fields that spread the pods of one deployment over zones and hosts."""
    term = {"labelSelector": {"matchLabels": selector}}
    zone = {"weight": args.zone_weight, "podAffinityTerm": {**term, "topologyKey": "topology.kubernetes.io/zone"}}
    host = {"weight": args.host_weight, "podAffinityTerm": {**term, "topologyKey": "kubernetes.io/hostname"}}
    # hostNetwork pods share the host's ports: two on one host cannot both bind 6379.
    required_host = args.anti_affinity == "required" or args.host_network
    anti: dict[str, Any] = {"preferredDuringSchedulingIgnoredDuringExecution": [zone] if required_host else [zone, host]}
    if required_host:
        anti["requiredDuringSchedulingIgnoredDuringExecution"] = [{**term, "topologyKey": "kubernetes.io/hostname"}]
    out: dict[str, Any] = {
        "affinity": {"podAntiAffinity": anti},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
            }
        ],
    }
    if args.node_selector:
        out["nodeSelector"] = dict(args.node_selector)
    if args.tolerations:
        out["tolerations"] = [dict(t) for t in args.tolerations]
    if args.host_network:
        # Only with deployments[].hostNetwork: the operator's deliberate trade
        # (no overlay hop) against the pod's isolation; the pod also carries
        # the allow-host-network annotation the policy pack asks for.
        out["hostNetwork"] = True
        out["dnsPolicy"] = "ClusterFirstWithHostNet"
    return out


def pdb_spec(selector: dict[str, str]) -> dict[str, Any]:
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
