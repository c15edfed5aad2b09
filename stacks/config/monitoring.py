"""Monitoring stack settings: Prometheus, Alertmanager, Grafana, exporters, Pushgateway."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from stacks.config.base import DnsLabel, StrictModel
from stacks.config.cidr import Cidr
from stacks.config.cron import DESCRIPTORS, check_schedule
from stacks.config.durations import Duration
from stacks.config.go_duration import GoDuration
from stacks.config.images import ImageRef
from stacks.config.quantities import Memory
from stacks.config.redis import Clients
from stacks.config.sizes import PrometheusSize
from stacks.config.targets import Target


class AccessFrom(Clients):
    """Pods allowed to reach a monitoring server (NetworkPolicy), chosen like
    a deployment's clients (docs/security.md); one selector at least, so an
    empty entry never opens a server to its whole namespace."""

    @model_validator(mode="after")
    def _one_selector(self) -> "AccessFrom":
        if not self.pod_selector and not self.namespace_selector:
            raise ValueError("set podSelector, namespaceSelector or both")
        return self


class RemoteWrite(StrictModel):
    url: str
    username: str | None = None
    # Name of an existing Kubernetes Secret (key "password") in the monitoring namespace.
    password_secret: DnsLabel | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or not urlsplit(value).hostname:
            raise ValueError(f"{value!r} must be an http(s) URL with a host")
        return value


class StaticTarget(StrictModel):
    """An application's /metrics outside the annotated pods (the seed's Django app)."""

    job: DnsLabel
    targets: tuple[Target, ...] = Field(min_length=1)
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    labels: dict[str, str] = Field(default_factory=dict)


class PrometheusServer(StrictModel):
    """The keys every Prometheus server of the stack takes alike: the
    per-environment one (monitoring.prometheus) and the federating one
    (federation): image, storage, Service and remote write."""

    image: ImageRef = "prom/prometheus:v2.54.1"
    # Prometheus's own units (GB = GiB), not Kubernetes' (Gi).
    retention_size: PrometheusSize = "40GB"
    storage_size: Memory = "50Gi"
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    load_balancer_source_ranges: tuple[Cidr, ...] = ()
    remote_write: tuple[RemoteWrite, ...] = ()


class Prometheus(PrometheusServer):
    retention: Duration = "15d"
    scrape_interval: Duration = "30s"
    evaluation_interval: Duration = "30s"
    static_targets: tuple[StaticTarget, ...] = ()
    # Who may query it besides Grafana (an Ingress controller, a federating server elsewhere).
    clients: tuple[AccessFrom, ...] = ()


class TeamRoute(StrictModel):
    team: DnsLabel
    slack_channel: str
    # A Slack webhook posts to one channel: without the team's own, its
    # alerts go to the platform's channels.
    slack_webhook_url: SecretStr | None = None


class Pager(StrictModel):
    """Pages for every critical alert: a PagerDuty Events v2 routing key or an Opsgenie API key."""

    kind: Literal["pagerduty", "opsgenie"]
    key: SecretStr


class Alertmanager(StrictModel):
    image: ImageRef = "prom/alertmanager:v0.27.0"
    storage_size: Memory = "2Gi"
    slack_channel: str = "#redis-alerts"
    slack_webhook_url: SecretStr | None = None
    team_routes: tuple[TeamRoute, ...] = ()
    pager: Pager | None = None
    # Gossiping replicas share silences and deduplicate notifications.
    replicas: int = Field(default=3, ge=1, le=5)


class Grafana(StrictModel):
    image: ImageRef = "grafana/grafana:11.2.0"
    storage_size: Memory = "5Gi"
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    # The seed publishes Grafana on 3231.
    port: int = Field(default=3231, ge=1, le=65535)
    load_balancer_source_ranges: tuple[Cidr, ...] = ()
    # Who may open it (an Ingress controller); a NodePort or LoadBalancer
    # Service admits its source ranges as well.
    clients: tuple[AccessFrom, ...] = ()


class OptionalExporter(StrictModel):
    """An exporter the stack runs unless told not to."""

    enabled: bool = True


class NodeExporter(OptionalExporter):
    image: ImageRef = "prom/node-exporter:v1.8.2"


class Cadvisor(OptionalExporter):
    image: ImageRef = "gcr.io/cadvisor/cadvisor:v0.49.1"
    # cAdvisor flags: Go durations (no d/w/y units).
    housekeeping_interval: GoDuration = "10s"
    storage_duration: GoDuration = "1m"


class KubeStateMetrics(OptionalExporter):
    # The official image; the rules' metric names are checked against this
    # version's documented list (tests/unit/kube_state_metrics_v2.13.0.txt).
    image: ImageRef = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"


class Pushgateway(OptionalExporter):
    image: ImageRef = "prom/pushgateway:v1.9.0"


class MonitoringBackup(StrictModel):
    """Prometheus TSDB snapshots and Grafana's database to the stack's object
    store (the `backup` section's bucket), by a sidecar in each pod."""

    # Only where the stack has a backup store (a warning says so otherwise).
    enabled: bool = True
    # UTC. Read by the sidecar's own matcher, not by a CronJob: numbers only.
    schedule: str = "30 2 * * *"
    # Key prefix of its own, beside the Redis backups' prefix: the monitoring
    # pods' IAM policy covers only this one.
    prefix: str = "monitoring"
    prometheus: bool = True
    grafana: bool = True

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        check_schedule(value)
        if value.startswith("@") and value not in DESCRIPTORS:
            raise ValueError(f"{value!r}: the backup sidecar matches five cron fields; use e.g. '0 */6 * * *' "
                             "instead of @every")
        if not value.startswith("@") and any(c.isalpha() for c in value):
            raise ValueError(f"{value!r}: the backup sidecar reads numbers in cron fields, not names "
                             "(e.g. 1 for MON, 1 for JAN)")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError(f"{value!r}: a non-empty key prefix with no leading, trailing or doubled '/'")
        return value


class ShardAdvice(StrictModel):
    """Targets of the cluster shard recommendation (RedisClusterNeedsShards)."""

    # Share of maxmemory the masters' data may use.
    memory_target_ratio: float = Field(default=0.7, ge=0.3, le=0.95)
    # CPU cores each master may use (Redis runs commands on one thread).
    cpu_target_cores: float = Field(default=0.7, ge=0.1, le=0.95)
    # How long the need must last before the alert.
    for_: Duration = Field(default="30m", alias="for")


class Monitoring(StrictModel):
    enabled: bool = True
    namespace: DnsLabel = "monitoring"
    prometheus: Prometheus = Field(default_factory=Prometheus)
    alertmanager: Alertmanager = Field(default_factory=Alertmanager)
    grafana: Grafana = Field(default_factory=Grafana)
    node_exporter: NodeExporter = Field(default_factory=NodeExporter)
    cadvisor: Cadvisor = Field(default_factory=Cadvisor)
    pushgateway: Pushgateway = Field(default_factory=Pushgateway)
    kube_state_metrics: KubeStateMetrics = Field(default_factory=KubeStateMetrics)
    backup: MonitoringBackup = Field(default_factory=MonitoringBackup)
    shard_advice: ShardAdvice = Field(default_factory=ShardAdvice)
