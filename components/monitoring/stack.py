"""Monitoring: the whole per-environment monitoring stack in its namespace."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.args import args_from
from components.common.k8s import labels, metadata
from components.monitoring import labels as L
from components.monitoring.component import MonitoringNamespace
from components.monitoring.alertmanager import CLUSTER_PORT as AM_CLUSTER_PORT
from components.monitoring.backup import MonitoringBackupSpec
from components.monitoring.alertmanager import Alertmanager, AlertmanagerArgs, alertmanager_peers
from components.monitoring.alertmanager_config import AlertmanagerSpec, Pager, TeamRoute, render_alertmanager_config
from components.monitoring.dashboards import DashboardSpec, render_dashboards
from components.monitoring.exporters import Exporters, ExportersArgs
from components.monitoring.grafana import Grafana, GrafanaArgs, GrafanaServer
from components.monitoring.grafana_provisioning import GrafanaSpec
from components.monitoring.network_policies import MonitoringPolicyArgs, ServerAccess, monitoring_policies, target_port, url_port
from components.monitoring.prometheus import Prometheus, PrometheusArgs, PrometheusServer
from components.monitoring.kube_state_metrics import METRICS_PORT as KSM_METRICS_PORT
from components.monitoring.kube_state_metrics import PORT_NAME as KSM_PORT_NAME
from components.monitoring.kube_state_metrics import TELEMETRY_PORT as KSM_TELEMETRY_PORT
from components.monitoring.kube_state_metrics import KubeStateMetrics, KubeStateMetricsArgs
from components.monitoring.prometheus_config import (PrometheusSpec, RemoteWrite, StaticJob, default_service_jobs,
                                                     kube_state_metrics_job, render_prometheus_config)
from components.monitoring.rules import RulesSpec, render_rule_files
from components.monitoring.rules.backup import BackupExpectation


@dataclass(frozen=True)
class RemoteWriteArgs:
    url: str
    username: str | None = None
    password_secret: str | None = None


@dataclass(frozen=True)
class TeamRouteArgs:
    team: str
    channel: str
    # The team's own Slack webhook, a Pulumi secret; None: platform channels.
    slack_webhook_url: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class MonitoringArgs:
    namespace: str
    environment: str
    cluster: str
    storage_class_name: str
    prometheus: PrometheusServer
    alertmanager_image: str
    alertmanager_storage: str
    slack_channel: str
    grafana: GrafanaServer
    remote_write: tuple[RemoteWriteArgs, ...] = ()
    static_jobs: tuple[StaticJob, ...] = ()
    slack_webhook_url: pulumi.Input[str] | None = None
    team_routes: tuple[TeamRouteArgs, ...] = ()
    pager_kind: str | None = None
    pager_key: pulumi.Input[str] | None = None
    alertmanager_replicas: int = 3
    kube_state_metrics_image: str | None = None
    node_exporter_image: str | None = None
    cadvisor_image: str | None = None
    cadvisor_housekeeping_interval: str = "10s"
    cadvisor_storage_duration: str = "1m"
    pushgateway_image: str | None = None
    # Deployments with a backup CronJob: (name, seconds its last success may age).
    # (deployment, max age of its last successful backup in seconds, team)
    backup_max_age: tuple[tuple[str, int, str], ...] = ()
    # NetworkPolicy peers (plain dicts) allowed in besides the stack's own
    # servers, and the Redis-side scrape ports (the composition knows them).
    prometheus_clients: tuple[dict, ...] = ()
    alertmanager_clients: tuple[dict, ...] = ()
    grafana_clients: tuple[dict, ...] = ()
    scrape_ports: tuple[int, ...] = ()
    # Backups of the servers' own data, and which servers ("prometheus", "grafana").
    monitoring_backup: MonitoringBackupSpec | None = None
    monitoring_backup_servers: tuple[str, ...] = ()
    # IRSA role annotation for the ServiceAccounts of the servers with a backup sidecar.
    monitoring_backup_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Cluster shard advice targets (rules/capacity.py).
    shard_memory_target_ratio: float = 0.7
    shard_cpu_target_cores: float = 0.7
    shard_advice_for: str = "30m"


KUBELET_PORT = 10250


def policy_args(args: MonitoringArgs) -> MonitoringPolicyArgs:
    """What the namespace's NetworkPolicies allow, from the same args the servers are built from."""
    ports = {*args.scrape_ports, L.ALERTMANAGER_PORT}
    ports |= {L.NODE_EXPORTER_PORT} if args.node_exporter_image else set()
    ports |= {L.CADVISOR_PORT} if args.cadvisor_image else set()
    ports |= {L.PUSHGATEWAY_PORT} if args.pushgateway_image else set()
    ports |= {target_port(t, job.scheme) for job in args.static_jobs for t in job.targets}
    ports |= {url_port(rw.url) for rw in args.remote_write}
    ksm = (KSM_METRICS_PORT, KSM_TELEMETRY_PORT) if args.kube_state_metrics_image else None
    # With kube-state-metrics Prometheus also scrapes each kubelet's volume stats.
    ports |= {*ksm, KUBELET_PORT} if ksm else set()
    return MonitoringPolicyArgs(
        pushgateway=args.pushgateway_image is not None,
        cadvisor=args.cadvisor_image is not None,
        kube_state_metrics=ksm,
        alertmanager_gossip_port=AM_CLUSTER_PORT if args.alertmanager_replicas > 1 else None,
        prometheus_access=ServerAccess(args.prometheus_clients, args.prometheus.service_type, args.prometheus.load_balancer_source_ranges),
        alertmanager_access=ServerAccess(args.alertmanager_clients),
        grafana_access=ServerAccess(args.grafana_clients, args.grafana.service_type, args.grafana.load_balancer_source_ranges),
        egress_ports=tuple(sorted(ports)),
        backup_servers=args.monitoring_backup_servers if args.monitoring_backup else (),
        backup_endpoint=args.monitoring_backup.store.endpoint if args.monitoring_backup else None,
    )


def prometheus_spec(args: MonitoringArgs) -> PrometheusSpec:
    return PrometheusSpec(
        cluster=args.cluster,
        environment=args.environment,
        namespace=args.namespace,
        scrape_interval=args.prometheus.scrape_interval,
        evaluation_interval=args.prometheus.evaluation_interval,
        # Every replica gets every alert; they deduplicate among themselves.
        alertmanager_targets=alertmanager_peers(args.namespace, args.alertmanager_replicas, L.ALERTMANAGER_PORT),
        static_jobs=args.static_jobs,
        service_jobs=default_service_jobs() + ((kube_state_metrics_job(KSM_PORT_NAME),) if args.kube_state_metrics_image else ()),
        kubelet_volume_stats=args.kube_state_metrics_image is not None,
        remote_write=tuple(
            RemoteWrite(
                url=rw.url,
                username=rw.username,
                password_file=f"{L.PROMETHEUS_SECRETS_DIR}/{rw.password_secret}/password" if rw.password_secret else None,
            )
            for rw in args.remote_write
        ),
    )


def team_webhook_key(team: str) -> str:
    return f"team-{team}-webhook-url"


PAGER_KEY = "pager-key"


def alertmanager_spec(args: MonitoringArgs) -> AlertmanagerSpec:
    files = L.ALERTMANAGER_SECRETS_DIR
    return AlertmanagerSpec(
        default_channel=args.slack_channel,
        critical_channel=args.slack_channel,
        teams=tuple(TeamRoute(t.team, t.channel, f"{files}/{team_webhook_key(t.team)}" if t.slack_webhook_url else None)
                    for t in args.team_routes),
        pager=Pager(args.pager_kind, f"{files}/{PAGER_KEY}") if args.pager_kind and args.pager_key else None,
    )


def alertmanager_secret_files(args: MonitoringArgs) -> dict[str, pulumi.Input[str]]:
    """Secret file name -> value, beside the config in the Alertmanager Secret."""
    out = {team_webhook_key(t.team): t.slack_webhook_url for t in args.team_routes if t.slack_webhook_url is not None}
    if args.pager_kind and args.pager_key is not None:
        out[PAGER_KEY] = args.pager_key
    return out


def backup_fields(args: MonitoringArgs, server: str) -> dict:
    """BackedUpServerArgs' backup fields for ``server``: set only where its data is backed up."""
    if args.monitoring_backup is None or server not in args.monitoring_backup_servers:
        return {}
    return {"backup": args.monitoring_backup, "service_account_annotations": args.monitoring_backup_annotations}


class Monitoring(MonitoringNamespace):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Monitoring", name, args.namespace, args.environment, {}, opts)
        child, ns, extra = self.child, self.namespace, self.extra
        mb = args.monitoring_backup
        backed_up = args.monitoring_backup_servers if mb is not None else ()
        prom = Prometheus(
            "prometheus",
            PrometheusArgs(
                namespace=ns,
                server=args.prometheus,
                storage_class_name=args.storage_class_name,
                config_yaml=render_prometheus_config(prometheus_spec(args)),
                rule_files=render_rule_files(RulesSpec(
                    backups=tuple(BackupExpectation(name, age, team) for name, age, team in args.backup_max_age),
                    monitoring_backups=backed_up,
                    monitoring_backup_max_age=mb.max_age_seconds if mb is not None else None,
                    shard_memory_target_ratio=args.shard_memory_target_ratio,
                    shard_cpu_target_cores=args.shard_cpu_target_cores,
                    shard_advice_for=args.shard_advice_for)),
                secret_mounts=tuple(sorted({rw.password_secret for rw in args.remote_write if rw.password_secret})),
                component_labels=extra,
                **backup_fields(args, "prometheus"),
            ),
            opts=child,
        )
        am = Alertmanager(
            "alertmanager",
            # Namespace, storage class and Slack webhook under the same names.
            args_from(
                args, AlertmanagerArgs,
                image=args.alertmanager_image,
                config_yaml=render_alertmanager_config(alertmanager_spec(args)),
                secret_files=alertmanager_secret_files(args),
                replicas=args.alertmanager_replicas,
                storage_size=args.alertmanager_storage,
                component_labels=extra,
            ),
            opts=child,
        )
        grafana_spec = GrafanaSpec(
            prometheus_url=f"http://{prom.service_host}:{L.PROMETHEUS_PORT}", scrape_interval=args.prometheus.scrape_interval
        )
        graf = Grafana("grafana", GrafanaArgs(
            args.grafana, grafana_spec, render_dashboards(DashboardSpec(datasource_uid=grafana_spec.datasource_uid)),
            namespace=ns, storage_class_name=args.storage_class_name, component_labels=extra,
            **backup_fields(args, "grafana"),
        ), opts=child)
        # The exporters' images and cAdvisor settings, under the same names here.
        exporters = Exporters("exporters", args_from(args, ExportersArgs, namespace=ns, component_labels=extra), opts=child)
        if args.kube_state_metrics_image:
            KubeStateMetrics("kube-state-metrics", KubeStateMetricsArgs(ns, args.kube_state_metrics_image, extra),
                             opts=child)
        self.network_policies(name, monitoring_policies(policy_args(args)))
        self.publish({
            "namespace": ns,
            "prometheusUrl": f"http://{prom.service_host}:{L.PROMETHEUS_PORT}",
            "federateUrl": f"http://{prom.service_host}:{L.PROMETHEUS_PORT}/federate",
            "alertmanagerUrl": f"http://{am.service_host}:{L.ALERTMANAGER_PORT}",
            "grafanaUrl": f"http://{graf.service_host}:{graf.port}",
            "pushgatewayUrl": f"http://{exporters.pushgateway_host}:{L.PUSHGATEWAY_PORT}" if exporters.pushgateway_host else None,
            "externalLabels": {"cluster": args.cluster, "environment": args.environment},
        })
