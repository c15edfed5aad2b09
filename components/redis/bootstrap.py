"""The cluster bootstrap Job and what it needs: its NetworkPolicy and, when
zone discovery is on, an init container that learns each pod's zone from the
API (cluster-zones.sh) with the narrowest RBAC that allows it.

Why an init container with its own token: the bootstrap container holds the
Redis password and needs no API access; the init container holds a
short-lived token (projected, 10 minutes) and no password. The token may
`get` the deployment's own pods by name (no list, no watch, nothing else in
the namespace) and `get` nodes, the only way a pod can read its node's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import container_security_context, labels, metadata, pod_security_context, resources, secret_env, selector_labels
from components.common.network_policy import api_server_egress, peer_egress, policy_spec
from components.common.redis_acl import secret_name as acl_secret_name
from components.common.redis_contract import REDIS_PORT, REDIS_UID, SCRIPTS_DIR
from components.common.tls import tls_env, tls_mount, tls_volume
from components.redis import cluster_scripts as scripts
from components.redis.pod import plain_env

APP = "redis"
ZONES_SCRIPT = "cluster-zones.sh"
ZONES_DIR = "/zones"
ZONES_SCRIPT_DIR = "/zones-script"
ZONES_FILE = f"{ZONES_DIR}/node-zones"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The zone map for the data pods (their self-repair has no API access): the
# init container also writes its lines into this ConfigMap's key, the data
# pods mount it (optional) at ZONE_MAP_DIR and cluster-repair.sh reads it.
ZONE_MAP_KEY = "node-zones"
ZONE_MAP_DIR = "/zones"
ZONE_MAP_FILE = f"{ZONE_MAP_DIR}/{ZONE_MAP_KEY}"
DEFAULT_TOPOLOGY_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class ZoneDiscovery:
    # registry.k8s.io/kubectl: kubectl, sh and coreutils.
    image: str
    topology_key: str = DEFAULT_TOPOLOGY_KEY


def zones_script() -> str:
    return (Path(__file__).parent / "scripts" / ZONES_SCRIPT).read_text(encoding="utf-8")


def pod_names(topology: scripts.ClusterTopology) -> list[str]:
    return [h.split(".", 1)[0] for h in scripts.node_hostnames(topology)]


def zone_map_name(dep: str) -> str:
    """The ConfigMap the init container writes the zone map into."""
    return f"{dep}-zones"


def zones_env(topology: scripts.ClusterTopology, zones: ZoneDiscovery, dep: str) -> dict[str, str]:
    t = topology
    return {
        "ZONE_PODS": " ".join(pod_names(t)),
        "NAMESPACE": t.namespace,
        "HOST_SUFFIX": f".{t.headless_service}.{t.namespace}.svc.{t.cluster_domain}",
        "TOPOLOGY_KEY": zones.topology_key,
        "OUT": ZONES_FILE,
        "ZONE_MAP_CONFIGMAP": zone_map_name(dep),
        "ZONE_MAP_KEY": ZONE_MAP_KEY,
        # kubectl keeps its discovery cache under $HOME; the root is read-only.
        "HOME": ZONES_DIR,
    }


def pod_rules(topology: scripts.ClusterTopology, dep: str) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": pod_names(topology)},
        # The one ConfigMap the zone map goes to: kubectl patch reads it (get),
        # then patches it (measured against the API server, tests/e2e); no list, no create.
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ZONE_MAP_VERBS, "resourceNames": [zone_map_name(dep)]},
    ]


NODE_RULES = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
ZONE_MAP_VERBS = ["get", "patch"]


def data_pod_zone_map(dep: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Volume, redis-container mount and env that hand the zone map to the
    data pods' cluster-repair.sh. Optional: a pod starts before the first
    bootstrap has written it, and the repair then pairs as without zones."""
    volume = {"name": "zone-map", "configMap": {"name": zone_map_name(dep), "optional": True}}
    mount = {"name": "zone-map", "mountPath": ZONE_MAP_DIR, "readOnly": True}
    return volume, mount, {"NODE_ZONES_FILE": ZONE_MAP_FILE}


def zone_map_config_map(parent: pulumi.Resource, dep: str, ns: str, map_labels: dict[str, str]) -> k8s.core.v1.ConfigMap:
    """Created empty; its data is the bootstrap Job's to write, so the
    program ignores it (a `pulumi up` never puts it back to empty)."""
    return k8s.core.v1.ConfigMap(f"{dep}-zone-map", metadata=metadata(zone_map_name(dep), ns, map_labels),
                                 opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["data"]))


def _token_volume() -> dict[str, Any]:
    return {"name": "api-token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}


def zones_config_map(dep: str) -> str:
    return f"{dep}-bootstrap"


def job_pod_spec(image: str, topology: scripts.ClusterTopology, dep: str, config_map: str,
                 zones: ZoneDiscovery | None, service_account: str | None, tls_secret: str | None = None) -> dict[str, Any]:
    bootstrap = {
        "name": "bootstrap",
        "image": image,
        "command": list(scripts.BOOTSTRAP_COMMAND),
        # The admin ACL user (REDIS_USER in bootstrap_env) and its password.
        "env": plain_env(scripts.bootstrap_env(topology))
        + [secret_env(scripts.BOOTSTRAP_SECRET_ENV, acl_secret_name(dep, scripts.SCRIPTS_USER))],
        "resources": resources("50m", "64Mi", "500m", "128Mi"),
        "volumeMounts": [{"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}],
        "securityContext": container_security_context(REDIS_UID),
    }
    items = [{"key": k, "path": k} for k in scripts.BOOTSTRAP_SCRIPTS]
    volumes: list[dict[str, Any]] = []
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # Only the init container gets a token, through its own volume.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(REDIS_UID),
    }
    if zones is not None:
        bootstrap["env"].append({"name": "NODE_ZONES_FILE", "value": ZONES_FILE})
        bootstrap["volumeMounts"].append({"name": "zones", "mountPath": ZONES_DIR, "readOnly": True})
        spec["serviceAccountName"] = service_account
        spec["initContainers"] = [{
            "name": "zones",
            "image": zones.image,
            "command": ["sh", f"{ZONES_SCRIPT_DIR}/{ZONES_SCRIPT}"],
            "env": plain_env(zones_env(topology, zones, dep)),
            "resources": resources("10m", "32Mi", "200m", "128Mi"),
            "volumeMounts": [
                {"name": "zones-script", "mountPath": ZONES_SCRIPT_DIR, "readOnly": True},
                {"name": "zones", "mountPath": ZONES_DIR},
                {"name": "api-token", "mountPath": TOKEN_DIR, "readOnly": True},
            ],
            "securityContext": container_security_context(REDIS_UID),
        }]
        volumes += [
            {"name": "zones-script", "configMap": {"name": zones_config_map(dep), "defaultMode": 0o555}},
            {"name": "zones", "emptyDir": {"sizeLimit": "16Mi"}},
            _token_volume(),
        ]
    volumes.insert(0, {"name": "scripts", "configMap": {"name": config_map, "items": items, "defaultMode": 0o555}})
    if tls_secret is not None:
        # TLS on: the CA only; the Job verifies the nodes, it never serves.
        bootstrap["env"] += tls_env(with_key=False)
        bootstrap["volumeMounts"].append(tls_mount())
        volumes.append(tls_volume(tls_secret, ca_only=True))
    spec["containers"] = [bootstrap]
    spec["volumes"] = volumes
    return spec


def bootstrap_job(parent: pulumi.Resource, dep: str, ns: str, team: dict[str, str], image: str,
                  topology: scripts.ClusterTopology, node_selector: dict[str, str], config_map: str,
                  zones: ZoneDiscovery | None, depends_on: list[Any], tls_secret: str | None = None) -> str:
    """Creates the Job (and its policy, and its RBAC with zone discovery);
    returns the Job's name."""
    child = pulumi.ResourceOptions(parent=parent)
    job_labels = labels(APP, dep, "bootstrap", team)
    egress = [peer_egress(node_selector, (REDIS_PORT,))]
    depends = list(depends_on)
    sa_name = None
    if zones is not None:
        egress.append(api_server_egress())
        sa_name = f"{dep}-bootstrap"
        sa = k8s.core.v1.ServiceAccount(f"{dep}-bootstrap-sa", metadata=metadata(sa_name, ns, job_labels),
                                        automount_service_account_token=False, opts=child)
        subject = [{"kind": "ServiceAccount", "name": sa_name, "namespace": ns}]
        role = k8s.rbac.v1.Role(f"{dep}-bootstrap-role", metadata=metadata(sa_name, ns, job_labels),
                                rules=pod_rules(topology, dep), opts=child)
        binding = k8s.rbac.v1.RoleBinding(
            f"{dep}-bootstrap-rolebinding", metadata=metadata(sa_name, ns, job_labels), subjects=subject,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata["name"]}, opts=child)
        # Cluster-scoped: named after namespace and deployment, which are unique together.
        node_role_name = f"redis-platform:{ns}:{dep}-bootstrap-nodes"
        node_role = k8s.rbac.v1.ClusterRole(f"{dep}-bootstrap-node-reader", metadata=metadata(node_role_name, None, job_labels),
                                            rules=NODE_RULES, opts=child)
        node_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{dep}-bootstrap-node-reader-binding", metadata=metadata(node_role_name, None, job_labels), subjects=subject,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": node_role.metadata["name"]},
            opts=child)
        zone_map = zone_map_config_map(parent, dep, ns, labels(APP, dep, "zone-map", team))
        depends += [sa, binding, node_binding, zone_map]
        script_cm = k8s.core.v1.ConfigMap(f"{dep}-bootstrap-zones-script", metadata=metadata(zones_config_map(dep), ns, job_labels),
                                          data={ZONES_SCRIPT: zones_script()}, opts=child)
        depends.append(script_cm)
    k8s.networking.v1.NetworkPolicy(
        f"{dep}-bootstrap-netpol",
        metadata=metadata(f"{dep}-bootstrap", ns, job_labels),
        # Nothing connects to the Job; it talks to the nodes' client port and,
        # to learn zones, the API server.
        spec=policy_spec(selector_labels(APP, dep, "bootstrap"), [], egress),
        opts=child,
    )
    job_name = scripts.bootstrap_job_name(topology)
    # Not depending on the StatefulSet: its pods only become ready once
    # this Job has formed the cluster, and the script waits for them itself.
    k8s.batch.v1.Job(
        f"{dep}-bootstrap",
        metadata=metadata(job_name, ns, job_labels),
        spec={
            "backoffLimit": 6,
            "activeDeadlineSeconds": 1800,
            # A Job's pod template is immutable: the team label (which config
            # may change) stays on the Job itself, or a team rename would
            # replace the Job and run the bootstrap again for nothing.
            "template": {
                "metadata": {"labels": labels(APP, dep, "bootstrap")},
                "spec": job_pod_spec(image, topology, dep, config_map, zones, sa_name, tls_secret),
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends, delete_before_replace=True),
    )
    return job_name
