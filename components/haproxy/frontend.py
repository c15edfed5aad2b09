"""HAProxyFrontend: one address for clients of a Sentinel-managed master set.

A Deployment of the official haproxy image running the generated haproxy.cfg
(write port: only the node that says role:master AND that a majority of the
Sentinels name; read port: healthy replicas, the master as fallback), a
Service for writes and one for reads, a PDB, a NetworkPolicy, and the
built-in Prometheus exporter scraped through pod annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import config_hash, container_security_context, labels, metadata, pod_security_context, resources, secret_env, selector_of
from components.common.network_policy import ClientsArgs, client_egress_spec, network_policy_spec, peer_egress
from components.common.redis_contract import DATA_NODE, PASSWORD_ENV, SENTINEL, REDIS_PORT, SENTINEL_PORT, deployment_labels, peer_selector
from components.common.scheduling import PlacementArgs, pdb_spec, placement
from components.common.tls import CA_FILE, tls_mount, tls_volume
from components.haproxy.cfg import HAProxySpec, render_haproxy_cfg

# The haproxy user of the official image (scanners flag UIDs below 10000;
# the image is built to run as this one).
HAPROXY_UID = 99
CONFIG_DIR = "/usr/local/etc/haproxy"
# One core per HAProxy pod; its thread count follows (see HAProxySpec.nbthread).
CPU_LIMIT_CORES = 1


@dataclass(frozen=True)
class HAProxyFrontendArgs:
    name: str
    namespace: str
    team: str
    image: str
    monitoring_namespace: str
    client_pod_selector: dict[str, str]
    client_namespace_selector: dict[str, str] = field(default_factory=dict)
    replicas: int = 2
    service_type: str = "ClusterIP"
    load_balancer_source_ranges: tuple[str, ...] = ()
    write_node_port: int | None = None
    read_node_port: int | None = None
    cluster_domain: str = "cluster.local"
    placement: PlacementArgs = field(default_factory=PlacementArgs)
    # Filled in by the composition in stacks/ from the RedisSentinel in front
    # of which this runs (that component owns these names).
    master_set: str = "mymaster"
    redis_hosts: tuple[str, ...] = ()
    sentinel_hosts: tuple[str, ...] = ()
    secret_name: str = ""
    # TLS on: the deployment's certificate Secret, of which HAProxy mounts
    # only ca.crt (its checks verify the nodes; client TLS passes through).
    tls_secret_name: str | None = None
    # ACL user of the checks (its password is the Secret's); None: default user.
    check_user: str | None = None


def service_names(name: str) -> tuple[str, str]:
    """The write and read Services of deployment ``name``'s front end."""
    return name, f"{name}-read"


def _service_spec(args: HAProxyFrontendArgs, selector: dict, target: str, node_port: int | None) -> dict:
    port = {"name": "redis", "port": 6379, "targetPort": target}
    if node_port is not None:
        port["nodePort"] = node_port
    spec = {"type": args.service_type, "selector": selector, "ports": [port]}
    if args.service_type == "LoadBalancer":
        spec["loadBalancerSourceRanges"] = list(args.load_balancer_source_ranges)
    return spec


class HAProxyFrontend(pulumi.ComponentResource):
    write_endpoint: str
    read_endpoint: str

    def __init__(self, name: str, args: HAProxyFrontendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:haproxy:HAProxyFrontend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns, app = args.namespace, f"{args.name}-haproxy"
        spec = HAProxySpec(
            master_set=args.master_set, redis_hosts=args.redis_hosts, sentinel_hosts=args.sentinel_hosts,
            nbthread=CPU_LIMIT_CORES, tls_ca_file=CA_FILE if args.tls_secret_name else None, user=args.check_user,
        )
        lbl = labels("haproxy", args.name, "frontend", deployment_labels(args.name, args.team))
        sel = selector_of(lbl)
        cfg = {"haproxy.cfg": render_haproxy_cfg(spec)}
        cm = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata(f"{app}-config", ns, lbl), data=cfg, opts=child)
        stats = {"httpGet": {"path": "/stats", "port": "stats"}}
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(app, ns, lbl),
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": sel},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {
                        "labels": lbl,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": str(spec.stats_port),
                            "prometheus.io/path": "/metrics",
                            "redis-platform/config-hash": config_hash(cfg),
                        },
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": pod_security_context(HAPROXY_UID),
                        "containers": [
                            {
                                "name": "haproxy",
                                "image": args.image,
                                "args": ["-f", f"{CONFIG_DIR}/haproxy.cfg"],
                                # Expanded by HAProxy from its environment: never in the ConfigMap.
                                "env": [secret_env(PASSWORD_ENV, args.secret_name)],
                                "ports": [
                                    {"name": "write", "containerPort": spec.write_port},
                                    {"name": "read", "containerPort": spec.read_port},
                                    {"name": "stats", "containerPort": spec.stats_port},
                                ],
                                "resources": resources("100m", "64Mi", str(CPU_LIMIT_CORES), "256Mi"),
                                "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                                 *([tls_mount()] if args.tls_secret_name else [])],
                                "readinessProbe": {**stats, "periodSeconds": 5},
                                "livenessProbe": {**stats, "periodSeconds": 20, "timeoutSeconds": 5},
                                "securityContext": container_security_context(HAPROXY_UID),
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}},
                                    *([tls_volume(args.tls_secret_name, ca_only=True)] if args.tls_secret_name else [])],
                        **placement(sel, args.placement),
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cm]),
        )
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=metadata(app, ns, lbl), spec=pdb_spec(sel), opts=child)
        write_svc, read_svc = service_names(args.name)
        k8s.core.v1.Service(f"{name}-write", metadata=metadata(write_svc, ns, lbl), spec=_service_spec(args, sel, "write", args.write_node_port), opts=child)
        k8s.core.v1.Service(f"{name}-read", metadata=metadata(read_svc, ns, lbl), spec=_service_spec(args, sel, "read", args.read_node_port), opts=child)
        policy = network_policy_spec(
            sel, peer_selector(args.name), ClientsArgs(args.client_pod_selector, args.client_namespace_selector),
            args.monitoring_namespace, client_ports=(spec.write_port, spec.read_port), peer_ports=(spec.write_port,),
            # Prometheus scrapes the stats port's /metrics.
            scrape_ports=(spec.stats_port,),
            # Health checks and traffic to the data nodes, the Sentinels' view of the master.
            egress=(peer_egress(peer_selector(args.name), (REDIS_PORT,), (DATA_NODE,)),
                    peer_egress(peer_selector(args.name), (SENTINEL_PORT,), (SENTINEL,))),
        )
        k8s.networking.v1.NetworkPolicy(f"{name}-netpol", metadata=metadata(app, ns, lbl), spec=policy, opts=child)
        client_egress = client_egress_spec(ClientsArgs(args.client_pod_selector, args.client_namespace_selector),
                                           sel, (spec.write_port, spec.read_port))
        if client_egress is not None:
            k8s.networking.v1.NetworkPolicy(f"{name}-clients-netpol", metadata=metadata(f"{app}-clients", ns, lbl),
                                            spec=client_egress, opts=child)
        domain = f"{ns}.svc.{args.cluster_domain}"
        self.write_endpoint = f"{write_svc}.{domain}:6379"
        self.read_endpoint = f"{read_svc}.{domain}:6379"
        self.register_outputs({"write_endpoint": self.write_endpoint, "read_endpoint": self.read_endpoint})
