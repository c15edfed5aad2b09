"""Federation: a global Prometheus that federates the per-environment ones,
with the global alert rules, alerting to an existing Alertmanager, and a
global Grafana holding the fleet dashboard.

The Prometheus and Grafana are the same components the per-environment stack
uses, fed the federation config and the global rules and dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import labels, metadata
from components.monitoring import labels as L
from components.monitoring.component import MonitoringNamespace
from components.monitoring.dashboards import DashboardSpec, render_global_dashboards
from components.monitoring.federation_config import FederationSpec, LowerPrometheus, render_federation_config
from components.monitoring.grafana import Grafana, GrafanaArgs, GrafanaServer
from components.monitoring.grafana_provisioning import GrafanaSpec
from components.monitoring.network_policies import MonitoringPolicyArgs, ServerAccess, monitoring_policies
from components.monitoring.prometheus import Prometheus, PrometheusArgs, PrometheusServer
from components.monitoring.prometheus_config import RemoteWrite
from components.monitoring.rules import RulesSpec, render_global_rule_files
from components.monitoring.stack import RemoteWriteArgs

PASSWORD_KEY = "password"
CA_KEY = "ca.crt"


def secret_file(secret: str, key: str) -> str:
    """Where the Prometheus component mounts key ``key`` of Secret ``secret``."""
    return f"{L.PROMETHEUS_SECRETS_DIR}/{secret}/{key}"


@dataclass(frozen=True)
class Endpoint:
    """Where /federate is served: scheme and host:port targets."""

    scheme: str
    targets: tuple[str, ...]

    @classmethod
    def from_url(cls, url: str) -> "Endpoint":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/", "/federate"):
            raise ValueError(f"{url!r} is not a federate URL (http(s)://host[:port][/federate])")
        return cls(parts.scheme, (parts.netloc,))

    def urls(self) -> list[str]:
        return [f"{self.scheme}://{t}/federate" for t in self.targets]


@dataclass(frozen=True)
class LowerServerArgs:
    name: str  # job federate-<name>, label source_prometheus=<name>
    # An Output when it comes from a StackReference.
    endpoint: pulumi.Input[Endpoint]
    username: str | None = None
    password_secret: str | None = None  # Secret in the federation namespace, key "password"
    ca_secret: str | None = None  # key "ca.crt"
    server_name: str | None = None
    insecure_skip_verify: bool = False

    def lower_prometheus(self, endpoint: Endpoint) -> LowerPrometheus:
        return LowerPrometheus(
            name=self.name,
            targets=endpoint.targets,
            scheme=endpoint.scheme,
            username=self.username,
            password_file=secret_file(self.password_secret, PASSWORD_KEY) if self.password_secret else None,
            ca_file=secret_file(self.ca_secret, CA_KEY) if self.ca_secret else None,
            server_name=self.server_name,
            insecure_skip_verify=self.insecure_skip_verify,
        )


@dataclass(frozen=True)
class FederationArgs:
    namespace: str
    cluster: str  # external label cluster of the global server: where it runs
    lower: tuple[LowerServerArgs, ...]
    storage_class_name: str
    # The global Prometheus: image, retention, storage, timing, Service.
    server: PrometheusServer
    environment: str = "global"
    scrape_timeout: str = "45s"
    selectors: tuple[str, ...] = ()
    replace_default_selectors: bool = False
    # http://host:port of an Alertmanager; None: the global alerts go nowhere.
    alertmanager_url: str | None = None
    remote_write: tuple[RemoteWriteArgs, ...] = ()
    # None: no global Grafana.
    grafana: GrafanaServer | None = None
    component_labels: dict[str, str] = field(default_factory=dict)
    # Ports the global Prometheus federates, alerts and remote-writes to
    # (the composition reads them from config), and NetworkPolicy peers
    # allowed in besides the global Grafana.
    egress_ports: tuple[int, ...] = (L.PROMETHEUS_PORT,)
    prometheus_clients: tuple[dict, ...] = ()
    grafana_clients: tuple[dict, ...] = ()


def _exposure(grafana: GrafanaServer | None) -> tuple[str, tuple[str, ...]]:
    """Service type and source ranges of the global Grafana; no Grafana: the defaults."""
    return (grafana.service_type, grafana.load_balancer_source_ranges) if grafana else ("ClusterIP", ())


def policy_args(args: FederationArgs) -> MonitoringPolicyArgs:
    return MonitoringPolicyArgs(
        alertmanager=None, grafana="grafana" if args.grafana is not None else None, pushgateway=False, cadvisor=False,
        prometheus_access=ServerAccess(args.prometheus_clients, args.server.service_type, args.server.load_balancer_source_ranges),
        grafana_access=ServerAccess(args.grafana_clients, *_exposure(args.grafana)),
        egress_ports=args.egress_ports, kubernetes_discovery=False,
    )


def _selector_fields(args: FederationArgs) -> dict:
    if not args.replace_default_selectors:
        return {"extra_match": args.selectors}
    return {"recording_rule_match": None, "include_up": False, "raw_series": (), "extra_match": tuple(args.selectors)}


def federation_spec(args: FederationArgs, endpoints: list[Endpoint]) -> FederationSpec:
    """The renderer's spec, once every lower server's endpoint is known."""
    alerting = (urlsplit(args.alertmanager_url).netloc,) if args.alertmanager_url else ()
    return FederationSpec(
        lower=tuple(lp.lower_prometheus(ep) for lp, ep in zip(args.lower, endpoints, strict=True)),
        cluster=args.cluster,
        environment=args.environment,
        scrape_interval=args.server.scrape_interval,
        scrape_timeout=args.scrape_timeout,
        evaluation_interval=args.server.evaluation_interval,
        alertmanager_targets=alerting,
        remote_write=tuple(
            RemoteWrite(url=rw.url, username=rw.username,
                        password_file=secret_file(rw.password_secret, PASSWORD_KEY) if rw.password_secret else None)
            for rw in args.remote_write
        ),
        **_selector_fields(args),
    )


def secret_mounts(args: FederationArgs) -> tuple[str, ...]:
    names = {s for lp in args.lower for s in (lp.password_secret, lp.ca_secret) if s}
    names |= {rw.password_secret for rw in args.remote_write if rw.password_secret}
    return tuple(sorted(names))


class Federation(MonitoringNamespace):
    def __init__(self, name: str, args: FederationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Federation", name, args.namespace, args.environment, args.component_labels, opts)
        child, ns, extra = self.child, self.namespace, self.extra
        if args.alertmanager_url is None:
            pulumi.log.warn("federation has no Alertmanager: the global alerts are evaluated but not sent", self)
        # Endpoints read from StackReferences are Outputs: the config is
        # rendered once all of them are known.
        config_yaml = pulumi.Output.all(*[lp.endpoint for lp in args.lower]).apply(
            lambda endpoints: render_federation_config(federation_spec(args, endpoints))
        )
        prom = Prometheus(
            f"{name}-prometheus",
            PrometheusArgs(
                namespace=ns,
                server=args.server,
                storage_class_name=args.storage_class_name,
                kubernetes_discovery=False,
                config_yaml=config_yaml,
                rule_files=render_global_rule_files(RulesSpec()),
                secret_mounts=secret_mounts(args),
                component_labels=extra,
            ),
            opts=child,
        )
        prometheus_url = f"http://{prom.service_host}:{L.PROMETHEUS_PORT}"
        grafana_url = None
        if args.grafana is not None:
            grafana_url = self._grafana(name, args, prometheus_url, extra, child)
        self.network_policies(name, monitoring_policies(policy_args(args)))
        self.publish({
            "namespace": ns,
            "globalPrometheusUrl": prometheus_url,
            "globalFederateUrl": f"{prometheus_url}/federate",
            "grafanaUrl": grafana_url,
            "alertmanagerUrl": args.alertmanager_url,
            "lowerServers": {
                lp.name: pulumi.Output.from_input(lp.endpoint).apply(lambda ep: ep.urls()) for lp in args.lower
            },
            "externalLabels": {"cluster": args.cluster, "environment": args.environment},
        })

    @staticmethod
    def _grafana(name: str, args: FederationArgs, prometheus_url: str, extra: dict, opts: pulumi.ResourceOptions) -> str:
        spec = GrafanaSpec(
            prometheus_url=prometheus_url, datasource_uid="global-prometheus", datasource_name="Global Prometheus",
            scrape_interval=args.server.scrape_interval, folder="Redis Platform Fleet",
        )
        graf = Grafana(f"{name}-grafana", GrafanaArgs(
            args.grafana, spec, render_global_dashboards(DashboardSpec(datasource_uid=spec.datasource_uid)),
            namespace=args.namespace, storage_class_name=args.storage_class_name, component_labels=extra,
        ), opts=opts)
        return f"http://{graf.service_host}:{graf.port}"
