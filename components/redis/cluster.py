"""RedisCluster: a sharded Redis Cluster as a StatefulSet, bootstrapped by a Job."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import config_hash, labels, metadata, secret_env, selector_labels
from components.common.network_policy import ClientsArgs, client_egress_spec, network_policy_spec, peer_egress, pods_peer, rule, tcp
from components.common.redis_acl import ACL_DIR, EXPORTER, render_users, secret_name
from components.common.redis_acl import APP as APP_USER
from components.common.redis_contract import CLUSTER_BUS_PORT, REDIS_PORT, deployment_labels, peer_selector
from components.common.scheduling import PlacementArgs, pdb_spec
from components.redis import cluster_scripts as scripts
from components.redis.bootstrap import ZoneDiscovery, bootstrap_job, data_pod_zone_map
from components.redis.common import RedisCommonArgs, acl_volume, certificate, config_map, mode_annotations, redis_conf_spec, user_secrets
from components.redis.conf import render_redis_conf
from components.redis.generations import data_statefulsets, pod_hostnames, statefulset_name
from components.redis.pod import exec_probe, exporter_addr, field_env, plain_env
from components.redis.preroll import PreRoll, PreRollArgs
from components.redis.statefulset import RedisPodSpec, with_additions

APP = "redis"
CONF_KEY = "redis.conf"


@dataclass(frozen=True)
class RedisClusterArgs(RedisCommonArgs):
    shards: int = 3
    replicas_per_shard: int = 1
    node_timeout_ms: int = 5000
    require_full_coverage: bool = False
    placement: PlacementArgs = field(default_factory=PlacementArgs)
    # Node-group migration (docs/operations.md): the pods run in StatefulSet
    # statefulset_name(name, generation); while migrate_to is set, a second
    # StatefulSet of the next generation runs with that placement.
    generation: int = 0
    migrate_to: PlacementArgs | None = None
    # The bootstrap Job learns each pod's zone and spreads every shard over
    # zones (components/redis/bootstrap.py); None: pairing by address only.
    zone_discovery: ZoneDiscovery | None = None


def generation_hosts(args: "RedisClusterArgs", generation: int) -> tuple[str, ...]:
    """Pod DNS names of one generation's StatefulSet."""
    return pod_hostnames(args, generation, args.shards * (1 + args.replicas_per_shard))


class RedisCluster(pulumi.ComponentResource):
    """Headless + client Services, StatefulSet, PDB, NetworkPolicy, password
    Secret, config, and the bootstrap Job for one Redis Cluster deployment."""

    outputs: dict

    def __init__(self, name: str, args: RedisClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:redis:RedisCluster", name, None, opts)
        ns, dep = args.namespace, args.name
        team = deployment_labels(dep, args.team)
        node_selector = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": dep, "app.kubernetes.io/component": "cluster-node"}
        node_labels = labels(APP, dep, "cluster-node", team)
        peers = peer_selector(dep)
        child = pulumi.ResourceOptions(parent=self)

        # One user per job, each with its own generated password and Secret.
        secrets = user_secrets(self, dep, ns, labels(APP, dep, "auth", team), args.acl,
                               exporter_addr(tls=args.tls is not None))
        secret, password = secrets[APP_USER]
        admin_secret = secret_name(dep, scripts.SCRIPTS_USER)
        topology = scripts.ClusterTopology(
            statefulset_name=statefulset_name(dep, args.generation),
            headless_service=f"{dep}-headless",
            namespace=ns,
            shards=args.shards,
            replicas_per_shard=args.replicas_per_shard,
            cluster_domain=args.cluster_domain,
        )
        conf = render_redis_conf(redis_conf_spec(
            args, args.replicas_per_shard, cluster_enabled=True,
            cluster_require_full_coverage=args.require_full_coverage, cluster_node_timeout_ms=args.node_timeout_ms,
        ))
        data = {CONF_KEY: conf, scripts.USERS_KEY: render_users(args.acl), **scripts.cluster_scripts()}
        cert = certificate(self, args, labels(APP, dep, "tls", team), (topology.headless_service,), (dep,))
        cm = config_map(self, f"{dep}-config", f"{dep}-config", ns, labels(APP, dep, "config", team), data)

        sa = k8s.core.v1.ServiceAccount(
            f"{dep}-sa",
            metadata=metadata(dep, ns, node_labels, args.service_account_annotations or None),
            automount_service_account_token=False,
            opts=child,
        )
        headless = k8s.core.v1.Service(
            f"{dep}-headless",
            metadata=metadata(topology.headless_service, ns, node_labels),
            spec={
                "clusterIP": "None",
                # Peers must resolve each other before any is ready (bootstrap, full restart).
                "publishNotReadyAddresses": True,
                "selector": node_selector,
                "ports": [
                    {"name": "redis", "port": REDIS_PORT, "targetPort": "redis"},
                    {"name": "bus", "port": CLUSTER_BUS_PORT, "targetPort": "bus"},
                ],
            },
            opts=child,
        )
        client = k8s.core.v1.Service(
            f"{dep}-client",
            metadata=metadata(dep, ns, node_labels),
            spec={
                "type": "ClusterIP",
                "selector": node_selector,
                "ports": [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
            },
            opts=child,
        )
        pod = RedisPodSpec(
            command=scripts.START_COMMAND,
            env=tuple(
                field_env(scripts.FIELD_ENV)
                + plain_env(scripts.start_env(topology))
                + [secret_env(scripts.START_SECRET_ENV, admin_secret)]
            ),
            ports=(
                {"name": "redis", "containerPort": REDIS_PORT},
                {"name": "bus", "containerPort": CLUSTER_BUS_PORT},
            ),
            readiness=exec_probe(scripts.READY_CHECK),
            config_map=f"{dep}-config",
            conf_key=CONF_KEY,
            script_keys=scripts.SCRIPT_NAMES,
            pre_stop=scripts.PRESTOP_COMMAND,
            conf_extra_keys=(scripts.USERS_KEY,),
            # Every user's password as a file, for the start script to load.
            extra_volumes=(acl_volume(dep, args.acl.roles),),
            extra_mounts=({"name": "acl-users", "mountPath": ACL_DIR, "readOnly": True},),
            exporter_user=EXPORTER,
            exporter_secret=secret_name(dep, EXPORTER),
        )
        if args.zone_discovery is not None:
            # The zone map the bootstrap Job publishes: cluster-repair.sh's
            # choice of master and pairing after a lost volume.
            zone_volume, zone_mount, zone_env = data_pod_zone_map(dep)
            pod = replace(pod, env=pod.env + tuple(plain_env(zone_env)), extra_volumes=pod.extra_volumes + (zone_volume,),
                          extra_mounts=pod.extra_mounts + (zone_mount,))
        pod = with_additions(pod, args.pod_additions)
        generations = [(args.generation, args.placement)]
        if args.migrate_to is not None:
            generations.append((args.generation + 1, args.migrate_to))
        # Before a StatefulSet changes: drain removed shards, masters to each
        # shard's lowest ordinal (components/redis/preroll.py).
        pre_roll = PreRoll(self, PreRollArgs(
            deployment=dep, namespace=ns, team=team, image=args.image, config_map=f"{dep}-config",
            scripts=scripts.PREROLL_SCRIPT_NAMES, script_texts=tuple(data[k] for k in scripts.PREROLL_SCRIPT_NAMES),
            admin_secret=admin_secret, peers=((node_selector, (REDIS_PORT,)),),
            tls_secret=args.tls.secret_name if args.tls else None,
            depends_on=(cm, *(s for s, _ in secrets.values()), headless, *([cert] if cert else []))),
            lambda sts: scripts.preroll_env(replace(topology, statefulset_name=sts), shrink=args.migrate_to is None))
        # Only what the pods mount: a change to the pre-roll Job's scripts
        # alone must not roll the data pods.
        pod_hash = config_hash({k: data[k] for k in (CONF_KEY, *pod.conf_extra_keys, *pod.script_keys)})
        current_sts = data_statefulsets(
            self, args, pod, tuple(generations), topology.node_count, topology.headless_service, node_selector, node_labels,
            mode_annotations("cluster", args.replicas_per_shard), pod_hash,
            [cm, *(s for s, _ in secrets.values()), sa, headless, *([cert] if cert else [])], pre_roll=pre_roll,
        )[args.generation]
        k8s.policy.v1.PodDisruptionBudget(
            f"{dep}-pdb", metadata=metadata(dep, ns, node_labels), spec=pdb_spec(node_selector), opts=child
        )
        node_policy = network_policy_spec(
                node_selector,
                peers,
                ClientsArgs(args.client_pod_selector, args.client_namespace_selector),
                args.monitoring_namespace,
                peer_ports=(REDIS_PORT, CLUSTER_BUS_PORT),
                # Replication and the bus go to other nodes only.
                egress=(peer_egress(node_selector, (REDIS_PORT, CLUSTER_BUS_PORT)), *args.pod_additions.egress),
            )
        # The bootstrap Job's pods carry no deployment label (their template
        # is immutable and that label set may change): admitted by their own.
        node_policy["ingress"].append(rule("ingress", [pods_peer(selector_labels(APP, dep, "bootstrap"))], tcp(REDIS_PORT)))
        k8s.networking.v1.NetworkPolicy(f"{dep}-netpol", metadata=metadata(dep, ns, node_labels), spec=node_policy, opts=child)
        client_egress = client_egress_spec(ClientsArgs(args.client_pod_selector, args.client_namespace_selector),
                                           node_selector, (REDIS_PORT,))
        if client_egress is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{dep}-clients-netpol", metadata=metadata(f"{dep}-clients", ns, labels(APP, dep, "clients", team)),
                spec=client_egress, opts=child,
            )
        job_name = bootstrap_job(self, dep, ns, team, args.image, topology, node_selector, f"{dep}-config",
                                 args.zone_discovery,
                                 # After the pre-roll: a drain is its, never both at once.
                                 [cm, *(s for s, _ in secrets.values()), headless, *([cert] if cert else []), *pre_roll.jobs],
                                 tls_secret=args.tls.secret_name if args.tls else None)
        domain = f"{ns}.svc.{args.cluster_domain}"
        # A plain dict, not one Output: only the password is secret, the
        # endpoints stay readable in `pulumi stack output`.
        self.outputs = {
            "mode": "cluster",
            "port": REDIS_PORT,
            "seedEndpoints": [f"{h}:{REDIS_PORT}" for h in scripts.node_hostnames(topology)],
            "clientService": f"{dep}.{domain}",
            "headlessService": f"{topology.headless_service}.{domain}",
            "shards": args.shards,
            "replicasPerShard": args.replicas_per_shard,
            "secretName": secret.metadata["name"],
            "secretKey": "password",
            # Clients log in as this user (AUTH <username> <password>); the
            # Secret holds it too, under "username".
            "username": APP_USER,
            "password": password,
            "statefulSet": current_sts.metadata["name"],
            "bootstrapJob": job_name,
            "tls": args.tls is not None,
            **({"caSecret": args.tls.secret_name, "caSecretKey": "ca.crt"} if args.tls else {}),
        }
        self.register_outputs(self.outputs)

