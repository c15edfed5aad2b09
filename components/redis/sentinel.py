"""RedisSentinel: one master and N replicas (a StatefulSet) watched by an odd
number of Sentinels (a second StatefulSet). The HAProxy front end is its own
component, which the composition in stacks/ points at the hosts named here."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import config_hash, container_security_context, labels, metadata, pod_security_context, resources
from components.common.network_policy import ClientsArgs, client_egress_spec, network_policy_spec, peer_egress
from components.common.k8s import secret_env
from components.common.redis_acl import (
    ACL_DIR, ADMIN, CLI_USER_ARGS, EXPORTER, SENTINEL_DATA_ROLES, SENTINEL_ROLES, USER_ENV, render_sentinel_users, render_users,
    secret_name,
)
from components.common.redis_acl import APP as APP_USER
from components.common.redis_contract import DATA_DIR, EXPORTER_PORT, REDIS_PORT, REDIS_UID, REDISCLI_AUTH_ENV, SCRIPTS_DIR, SENTINEL_PORT, deployment_labels, peer_selector
from components.common.scheduling import PlacementArgs, pdb_spec, placement
from components.redis import sentinel_scripts as scripts
from components.common.tls import CA_VOLUME, CLI_TLS, TlsFiles, tls_env, tls_mount, tls_volume
from components.redis.common import RedisCommonArgs, acl_volume, certificate, config_map, mode_annotations, redis_conf_spec, user_secrets
from components.redis.conf import render_redis_conf
from components.redis.generations import data_statefulsets, pod_hostnames, statefulset_name
from components.redis.preroll import PreRoll, PreRollArgs
from components.redis.pod import exec_probe, exporter_addr, exporter_container, exporter_volume, field_env, scrape_annotations
from components.redis.sentinel_conf import SENTINEL_CONF_DIR, SENTINEL_CONF_NAME, SENTINEL_WORK_DIR, SentinelConfSpec, SentinelFailover, render_sentinel_conf
from components.redis.statefulset import RedisPodSpec, with_additions

APP = "redis"
CONF_KEY = "redis.conf"
GRACE_SECONDS = 60
# The handover must finish inside the grace period, with room for redis's own shutdown.
PRESTOP_TIMEOUT = GRACE_SECONDS - 15
SENTINEL_ALIVE = f'redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 -p {SENTINEL_PORT} ping | grep -qx PONG'


@dataclass(frozen=True)
class RedisSentinelArgs(RedisCommonArgs):
    replicas: int = 2
    sentinels: int = 3
    failover: SentinelFailover = field(default_factory=SentinelFailover)
    placement: PlacementArgs = field(default_factory=PlacementArgs)
    # Node-group migration (docs/operations.md): the pods run in StatefulSet
    # statefulset_name(name, generation). migrate_to (the new placement) and
    # migration_step come together: for replicas and promote a second
    # StatefulSet of the next generation runs beside the current one; for
    # retire only the next generation's is left.
    generation: int = 0
    migrate_to: PlacementArgs | None = None
    migration_step: str | None = None

    def __post_init__(self) -> None:
        if (self.migrate_to is None) != (self.migration_step is None):
            raise ValueError("migrate_to and migration_step go together")
        if self.migration_step not in (None, *MIGRATION_STEPS):
            raise ValueError(f"migration_step must be one of {MIGRATION_STEPS}, got {self.migration_step!r}")


MIGRATION_STEPS = ("replicas", "promote", "retire")


def generation_hosts(args: RedisSentinelArgs, generation: int) -> tuple[str, ...]:
    """Pod DNS names of one generation's data StatefulSet."""
    return pod_hostnames(args, generation, args.replicas + 1)


def running_generations(args: RedisSentinelArgs) -> tuple[tuple[int, PlacementArgs], ...]:
    """(generation, placement) of each data StatefulSet in the program."""
    if args.migrate_to is None:
        return ((args.generation, args.placement),)
    new = (args.generation + 1, args.migrate_to)
    return (new,) if args.migration_step == "retire" else ((args.generation, args.placement), new)


class RedisSentinel(pulumi.ComponentResource):
    outputs: dict
    # What a front end needs: every data pod it may send clients to (both
    # generations during a node-group migration), and the Sentinels to ask.
    served_hosts: tuple[str, ...]
    sentinel_hosts: tuple[str, ...]

    def __init__(self, name: str, args: RedisSentinelArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:redis:RedisSentinel", name, None, opts)
        ns, dep, domain = args.namespace, args.name, f"{args.namespace}.svc.{args.cluster_domain}"
        team = deployment_labels(dep, args.team)
        child = pulumi.ResourceOptions(parent=self)
        node_sel = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": dep, "app.kubernetes.io/component": "data-node"}
        sent_sel = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": dep, "app.kubernetes.io/component": "sentinel"}
        node_labels, sent_labels = labels(APP, dep, "data-node", team), labels(APP, dep, "sentinel", team)
        headless, sent_headless = f"{dep}-headless", f"{dep}-sentinel-headless"
        # sentinel.conf's master is a placeholder (sentinel-start.sh derives
        # the real one); it stays in the current generation until
        # `generation` is bumped after a migration.
        redis_hosts = generation_hosts(args, args.generation)
        generations = running_generations(args)
        served_hosts = tuple(h for gen, _ in generations for h in generation_hosts(args, gen))
        sentinel_hosts = tuple(f"{dep}-sentinel-{i}.{sent_headless}.{domain}" for i in range(args.sentinels))

        # One user per job on the data nodes, each with its own password and
        # Secret; the Sentinels know a subset of the same users.
        acl = replace(args.acl, roles=SENTINEL_DATA_ROLES)
        # The exporter user's password file serves the data nodes' exporters
        # and the Sentinels' (one URI each).
        tls_on = args.tls is not None
        secrets = user_secrets(self, dep, ns, labels(APP, dep, "auth", team), acl,
                               (exporter_addr(tls=tls_on), exporter_addr(SENTINEL_PORT, tls=tls_on)))
        secret, password = secrets[APP_USER]
        all_secrets = [s for s, _ in secrets.values()]
        # Scripts, probes and ops log in as admin; the password by env, the
        # user name by REDIS_USER (components/common/redis_acl.py).
        admin_env = [{"name": USER_ENV, "value": ADMIN}, secret_env(REDISCLI_AUTH_ENV, secret_name(dep, ADMIN)),
                     {"name": "ACL_DIR", "value": ACL_DIR}]
        conf = render_redis_conf(redis_conf_spec(args, args.replicas))
        sentinel_conf = render_sentinel_conf(
            SentinelConfSpec(
                master_host=redis_hosts[0],
                failover=args.failover,
                tls=TlsFiles() if args.tls else None,
            )
        )
        cert = certificate(self, args, labels(APP, dep, "tls", team), (headless, sent_headless), (f"{dep}-sentinel",))
        cert_dep = [cert] if cert else []
        data = {CONF_KEY: conf, SENTINEL_CONF_NAME: sentinel_conf, scripts.USERS_KEY: render_users(acl),
                scripts.SENTINEL_USERS_KEY: render_sentinel_users(), **scripts.sentinel_scripts()}
        # Each StatefulSet rolls only when what its pods read changes: a
        # redis.conf change must not restart every Sentinel at once.
        data_hash = config_hash({k: data[k] for k in (CONF_KEY, scripts.USERS_KEY, *scripts.DATA_SCRIPT_NAMES)})
        sentinel_hash = config_hash({k: data[k] for k in (SENTINEL_CONF_NAME, scripts.SENTINEL_USERS_KEY,
                                                          *scripts.SENTINEL_SCRIPT_NAMES)})
        cm = config_map(self, f"{dep}-config", f"{dep}-config", ns, labels(APP, dep, "config", team), data)
        sa = k8s.core.v1.ServiceAccount(
            f"{dep}-sa", metadata=metadata(dep, ns, node_labels, args.service_account_annotations or None),
            automount_service_account_token=False, opts=child,
        )

        for res, svc_name, sel, svc_labels, port in (
            ("headless", headless, node_sel, node_labels, REDIS_PORT),
            ("sentinel-headless", sent_headless, sent_sel, sent_labels, SENTINEL_PORT),
        ):
            k8s.core.v1.Service(
                f"{dep}-{res}",
                metadata=metadata(svc_name, ns, svc_labels),
                spec={
                    "clusterIP": "None",
                    # Nodes and Sentinels find each other by name before any is ready.
                    "publishNotReadyAddresses": True,
                    "selector": sel,
                    "ports": [{"name": "redis" if port == REDIS_PORT else "sentinel", "port": port, "targetPort": port}],
                },
                opts=child,
            )
        k8s.core.v1.Service(
            f"{dep}-sentinel",
            metadata=metadata(f"{dep}-sentinel", ns, sent_labels),
            spec={"selector": sent_sel, "ports": [{"name": "sentinel", "port": SENTINEL_PORT, "targetPort": "sentinel"}]},
            opts=child,
        )
        # The data pods of the current generation: the candidates of a cold
        # start, and where a new Sentinel looks for the master. Not both
        # generations: that would roll the current pods when a migration starts.
        shared_env = [
            {"name": "MASTER_SET", "value": args.failover.master_set},
            {"name": "SENTINEL_HOSTS", "value": " ".join(sentinel_hosts)},
            {"name": "REDIS_HOSTS", "value": " ".join(redis_hosts)},
        ]
        node_env = (
            field_env({"POD_NAME": "metadata.name"})
            + [{"name": "REDIS_ANNOUNCE_HOST", "value": f"$(POD_NAME).{headless}.{domain}"},
               {"name": "REPL_STATE_FILE", "value": f"{DATA_DIR}/replication-state"}]
            + shared_env
            + [{"name": "USERS_ACL", "value": scripts.USERS_ACL_PATH}]
            + admin_env
        )
        pod = RedisPodSpec(
            command=tuple(scripts.pod_command(scripts.REDIS_START)),
            env=tuple(node_env),
            ports=({"name": "redis", "containerPort": REDIS_PORT},),
            readiness=exec_probe(scripts.READY_CHECK),
            config_map=f"{dep}-config",
            conf_key=CONF_KEY,
            script_keys=scripts.SCRIPT_NAMES,
            pre_stop=tuple(scripts.pod_command(scripts.REDIS_PRESTOP, str(PRESTOP_TIMEOUT))),
            termination_grace_seconds=GRACE_SECONDS,
            conf_extra_keys=(scripts.USERS_KEY,),
            # Every user's password as a file, for the start script to load.
            extra_volumes=(acl_volume(dep, SENTINEL_DATA_ROLES),),
            extra_mounts=({"name": "acl-users", "mountPath": ACL_DIR, "readOnly": True},),
            exporter_user=EXPORTER,
            exporter_secret=secret_name(dep, EXPORTER),
        )
        pod = with_additions(pod, args.pod_additions)
        # Before a data StatefulSet changes: the master to its pod 0
        # (components/redis/preroll.py).
        gen_of = {statefulset_name(dep, gen): gen for gen, _ in generations}
        pre_roll = PreRoll(self, PreRollArgs(
            deployment=dep, namespace=ns, team=team, image=args.image, config_map=f"{dep}-config",
            scripts=scripts.PREROLL_SCRIPT_NAMES, script_texts=tuple(data[k] for k in scripts.PREROLL_SCRIPT_NAMES),
            admin_secret=secret_name(dep, ADMIN), peers=((node_sel, (REDIS_PORT,)), (sent_sel, (SENTINEL_PORT,))),
            tls_secret=args.tls.secret_name if args.tls else None, depends_on=(cm, *all_secrets, *cert_dep)),
            lambda sts: scripts.preroll_env(args.failover.master_set, sentinel_hosts, generation_hosts(args, gen_of[sts])))
        data_sts = data_statefulsets(
            self, args, pod, generations, args.replicas + 1, headless, node_sel, node_labels,
            mode_annotations("sentinel", args.replicas), data_hash, [cm, *all_secrets, sa, *cert_dep], pre_roll=pre_roll,
        )[generations[0][0]]
        sentinel_container = {
            "name": "sentinel",
            "image": args.image,
            "command": scripts.pod_command(scripts.SENTINEL_START),
            "env": field_env({"POD_NAME": "metadata.name"})
            + [{"name": "SENTINEL_ANNOUNCE_HOST", "value": f"$(POD_NAME).{sent_headless}.{domain}"},
               {"name": "SENTINEL_CONF_SRC", "value": f"{SENTINEL_CONF_DIR}/{SENTINEL_CONF_NAME}"},
               {"name": "SENTINEL_WORK_DIR", "value": SENTINEL_WORK_DIR},
               {"name": "SENTINEL_USERS_ACL", "value": f"{SENTINEL_CONF_DIR}/{scripts.SENTINEL_USERS_KEY}"}]
            + shared_env
            + admin_env
            + (tls_env(with_key=True) if args.tls else []),
            "ports": [{"name": "sentinel", "containerPort": SENTINEL_PORT}],
            "resources": resources("50m", "64Mi", "250m", "128Mi"),
            "volumeMounts": [
                {"name": "conf", "mountPath": SENTINEL_CONF_DIR, "readOnly": True},
                {"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True},
                {"name": "work", "mountPath": SENTINEL_WORK_DIR},
                *([tls_mount()] if args.tls else []),
                {"name": "acl-users", "mountPath": ACL_DIR, "readOnly": True},
            ],
            "readinessProbe": exec_probe(scripts.SENTINEL_READY, period=10),
            "livenessProbe": exec_probe(SENTINEL_ALIVE, period=20, timeout=5, failures=3),
            "securityContext": container_security_context(REDIS_UID),
        }
        sentinel_placement = PlacementArgs(
            anti_affinity=args.placement.anti_affinity, zone_weight=args.placement.zone_weight,
            host_weight=args.placement.host_weight, node_selector=args.placement.node_selector,
            tolerations=args.placement.tolerations,
        )
        k8s.apps.v1.StatefulSet(
            f"{dep}-sentinel-statefulset",
            metadata=metadata(f"{dep}-sentinel", ns, sent_labels),
            spec={
                "serviceName": sent_headless,
                "replicas": args.sentinels,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": sent_sel},
                "template": {
                    "metadata": {"labels": sent_labels,
                                 "annotations": scrape_annotations() | {"redis-platform/config-hash": sentinel_hash}},
                    "spec": {
                        "serviceAccountName": dep,
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": pod_security_context(REDIS_UID),
                        # The exporter asks the local Sentinel (SENTINEL MASTERS,
                        # CKQUORUM): the sentinel alerts read each one's view.
                        "containers": [sentinel_container,
                                       exporter_container(args.exporter_image, secret_name(dep, EXPORTER), EXPORTER,
                                                          redis_port=SENTINEL_PORT, tls=args.tls is not None)],
                        "volumes": [
                            {"name": "conf", "configMap": {"name": f"{dep}-config", "items": [
                                {"key": k, "path": k} for k in (SENTINEL_CONF_NAME, scripts.SENTINEL_USERS_KEY)]}},
                            {"name": "scripts", "configMap": {"name": f"{dep}-config", "items": [{"key": k, "path": k} for k in scripts.SCRIPT_NAMES], "defaultMode": 0o555}},
                            # Sentinel's rewritten config holds the password: memory only.
                            {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                            *([tls_volume(args.tls.secret_name, ca_only=False),
                               # The exporter's: the CA alone.
                               tls_volume(args.tls.secret_name, ca_only=True, name=CA_VOLUME)] if args.tls else []),
                            acl_volume(dep, SENTINEL_ROLES),
                            # The exporter user's password file.
                            exporter_volume(secret_name(dep, EXPORTER)),
                        ],
                        **placement(sent_sel, sentinel_placement),
                    },
                },
            },
            # After the pre-roll: its failover never meets restarting Sentinels.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cm, *all_secrets, sa, *cert_dep, *pre_roll.jobs]),
        )
        clients = ClientsArgs(args.client_pod_selector, args.client_namespace_selector)
        # Data nodes replicate from each other and ask the Sentinels who the
        # master is; Sentinels watch the nodes and gossip among themselves.
        internal = (peer_egress(node_sel, (REDIS_PORT,)), peer_egress(sent_sel, (SENTINEL_PORT,)))
        for res, sel, sel_labels, port, scrape, egress in (
            ("data", node_sel, node_labels, REDIS_PORT, (EXPORTER_PORT,), (*internal, *args.pod_additions.egress)),
            ("sentinel", sent_sel, sent_labels, SENTINEL_PORT, (EXPORTER_PORT,), internal),
        ):
            k8s.policy.v1.PodDisruptionBudget(f"{dep}-{res}-pdb", metadata=metadata(f"{dep}-{res}", ns, sel_labels), spec=pdb_spec(sel), opts=child)
            k8s.networking.v1.NetworkPolicy(
                f"{dep}-{res}-netpol",
                metadata=metadata(f"{dep}-{res}", ns, sel_labels),
                spec=network_policy_spec(sel, peer_selector(dep), clients, args.monitoring_namespace, (port,), (port,),
                                         scrape_ports=scrape, egress=egress),
                opts=child,
            )
        # Sentinel-aware clients ask a Sentinel, then talk to the master.
        client_egress = client_egress_spec(clients, {"app.kubernetes.io/instance": dep, "app.kubernetes.io/name": APP}, (REDIS_PORT, SENTINEL_PORT))
        if client_egress is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{dep}-clients-netpol", metadata=metadata(f"{dep}-clients", ns, labels(APP, dep, "clients", team)),
                spec=client_egress, opts=child,
            )
        self.served_hosts, self.sentinel_hosts = served_hosts, sentinel_hosts
        self.outputs = {
            "mode": "sentinel",
            "port": REDIS_PORT,
            "masterSet": args.failover.master_set,
            "sentinelEndpoints": [f"{h}:{SENTINEL_PORT}" for h in sentinel_hosts],
            "sentinelService": f"{dep}-sentinel.{domain}:{SENTINEL_PORT}",
            "secretName": secret.metadata["name"],
            "secretKey": "password",
            # Clients log in as this user, on the data nodes and the Sentinels.
            "username": APP_USER,
            "password": password,
            "statefulSet": data_sts.metadata["name"],
            "tls": args.tls is not None,
            **({"caSecret": args.tls.secret_name, "caSecretKey": "ca.crt"} if args.tls else {}),
        }
        self.register_outputs(self.outputs)
