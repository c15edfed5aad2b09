"""Composition: the monitoring config section -> the Monitoring component."""

from __future__ import annotations

import pulumi
from pydantic import SecretStr

from components.common.args import args_from
from components.common.network_policy import ClientsArgs, client_peer, namespace_peer
from components.common.redis_contract import EXPORTER_PORT
from components.haproxy.cfg import HAProxySpec
from components.monitoring.grafana import GrafanaServer
from components.monitoring.network_policies import prometheus_selector
from components.monitoring.prometheus import PrometheusServer
from components.monitoring.prometheus_config import StaticJob
from components.monitoring.stack import Monitoring, MonitoringArgs, RemoteWriteArgs, TeamRouteArgs
from stacks.config import StackConfig
from stacks.config.backup import AwsBackup, S3CompatibleBackup
from stacks.cron import max_gap_seconds
from stacks.monitoring_backup import build_monitoring_backup


def _secret(value: SecretStr | None) -> pulumi.Output[str] | None:
    return pulumi.Output.secret(value.get_secret_value()) if value is not None else None


# A backup run's own time (snapshot every master, upload) on top of the gap
# between two scheduled runs.
BACKUP_RUN_GRACE_SECONDS = 3600


def backup_max_age(cfg: StackConfig) -> tuple[tuple[str, int, str], ...]:
    """Per deployment with a backup CronJob: how old its last success may be, and its team."""
    b = cfg.backup
    if not isinstance(b, (AwsBackup, S3CompatibleBackup)) or not b.enabled:
        return ()
    return tuple((d.name, max_gap_seconds(d.backup.schedule or b.schedule) + BACKUP_RUN_GRACE_SECONDS, d.team)
                 for d in cfg.deployments if d.backup.enabled)


def access_peers(entries) -> tuple[dict, ...]:
    return tuple(client_peer(ClientsArgs(dict(e.pod_selector), dict(e.namespace_selector))) for e in entries)


def build_monitoring(cfg: StackConfig, storage_class: str, opts: pulumi.ResourceOptions | None = None) -> Monitoring:
    m = cfg.monitoring
    p, am, g = m.prometheus, m.alertmanager, m.grafana
    # The federation's global Prometheus of this stack federates this one and
    # alerts through this Alertmanager unless told another one.
    federator = (namespace_peer(cfg.federation.namespace, prometheus_selector("prometheus")),) if cfg.federation.enabled else ()
    alerting = federator if cfg.federation.enabled and not cfg.federation.alertmanager_url else ()
    webhook = _secret(am.slack_webhook_url)
    mbackup = build_monitoring_backup(cfg)
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            namespace=m.namespace,
            environment=cfg.environment,
            cluster=cfg.cluster_name,
            storage_class_name=storage_class,
            prometheus=args_from(p, PrometheusServer),
            remote_write=tuple(RemoteWriteArgs(r.url, r.username, r.password_secret) for r in p.remote_write),
            static_jobs=tuple(
                StaticJob(name=t.job, targets=t.targets, metrics_path=t.metrics_path, scheme=t.scheme, labels=dict(t.labels))
                for t in p.static_targets
            ),
            alertmanager_image=am.image,
            alertmanager_storage=am.storage_size,
            slack_channel=am.slack_channel,
            slack_webhook_url=webhook,
            team_routes=tuple(TeamRouteArgs(r.team, r.slack_channel, _secret(r.slack_webhook_url))
                              for r in am.team_routes),
            pager_kind=am.pager.kind if am.pager else None,
            pager_key=_secret(am.pager.key) if am.pager else None,
            alertmanager_replicas=am.replicas,
            grafana=args_from(g, GrafanaServer),
            node_exporter_image=m.node_exporter.image if m.node_exporter.enabled else None,
            cadvisor_image=m.cadvisor.image if m.cadvisor.enabled else None,
            cadvisor_housekeeping_interval=m.cadvisor.housekeeping_interval,
            cadvisor_storage_duration=m.cadvisor.storage_duration,
            pushgateway_image=m.pushgateway.image if m.pushgateway.enabled else None,
            backup_max_age=backup_max_age(cfg),
            kube_state_metrics_image=m.kube_state_metrics.image if m.kube_state_metrics.enabled else None,
            prometheus_clients=access_peers(p.clients) + federator,
            alertmanager_clients=alerting,
            grafana_clients=access_peers(g.clients),
            # Redis exporters and HAProxy's stats port (both modes' pods).
            scrape_ports=(EXPORTER_PORT, HAProxySpec.stats_port),
            shard_memory_target_ratio=m.shard_advice.memory_target_ratio,
            shard_cpu_target_cores=m.shard_advice.cpu_target_cores,
            shard_advice_for=m.shard_advice.for_,
            monitoring_backup=mbackup.spec if mbackup else None,
            monitoring_backup_servers=mbackup.servers if mbackup else (),
            monitoring_backup_annotations=mbackup.service_account_annotations if mbackup else {},
        ),
        opts=opts,
    )
