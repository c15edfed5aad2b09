"""Pod pieces both Redis modes share: the password Secret's env, the exporter
sidecar, probes, placement, the PodDisruptionBudget and the NetworkPolicy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.redis.conf import EXPORTER_PORT, PASSWORD_ENV, REDIS_PORT, REDISCLI_AUTH_ENV

# uid/gid of the redis user in the official redis images (alpine and debian).
REDIS_UID = 999
# oliver006/redis_exporter is a static binary in a scratch image; any non-root uid works.
EXPORTER_UID = 59000
PASSWORD_KEY = "password"


def secret_env(env_name: str, secret_name: str, key: str = PASSWORD_KEY) -> dict[str, Any]:
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def password_env(secret_name: str) -> list[dict[str, Any]]:
    """The password for redis-server (start script) and for redis-cli in probes."""
    return [secret_env(PASSWORD_ENV, secret_name), secret_env(REDISCLI_AUTH_ENV, secret_name)]


def field_env(fields: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}} for k, v in fields.items()]


def plain_env(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def _cli(port: int) -> str:
    return f"redis-cli -h 127.0.0.1 -p {port}"


def liveness_probe(port: int = REDIS_PORT) -> dict[str, Any]:
    """Alive = redis answers at all. LOADING/BUSY/MASTERDOWN replies are alive:
    killing a node that is loading its AOF, running a slow script or waiting
    for its master only makes things worse. The timeout and threshold give a
    slow AOF fsync (which blocks the event loop) well over a minute."""
    check = f'out="$({_cli(port)} ping 2>&1)"; case "$out" in PONG|*LOADING*|*BUSY*|*MASTERDOWN*) exit 0;; esac; echo "$out"; exit 1'
    return {
        "exec": {"command": ["sh", "-c", check]},
        "periodSeconds": 15,
        "timeoutSeconds": 10,
        "failureThreshold": 6,
    }


def startup_probe(port: int = REDIS_PORT) -> dict[str, Any]:
    """Up to ten minutes to load a large AOF before liveness starts counting."""
    probe = liveness_probe(port)
    probe.update({"periodSeconds": 10, "failureThreshold": 60})
    return probe


def exec_probe(script: str, period: int = 5, timeout: int = 5, failures: int = 3) -> dict[str, Any]:
    return {
        "exec": {"command": ["sh", "-c", script]},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def exporter_container(image: str, secret_name: str) -> dict[str, Any]:
    """redis_exporter for this pod's node only; dashboards aggregate by deployment."""
    env = [
        {"name": "REDIS_ADDR", "value": f"redis://127.0.0.1:{REDIS_PORT}"},
        secret_env("REDIS_PASSWORD", secret_name),
    ]
    return {
        "name": "exporter",
        "image": image,
        "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
        "env": env,
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 30, "timeoutSeconds": 5},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": EXPORTER_UID,
            "runAsGroup": EXPORTER_UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def scrape_annotations(port: int = EXPORTER_PORT) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


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
        out["hostNetwork"] = True
        out["dnsPolicy"] = "ClusterFirstWithHostNet"
    return out


def pdb_spec(selector: dict[str, str]) -> dict[str, Any]:
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector}}


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
