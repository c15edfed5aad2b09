"""Global Prometheus that federates the per-environment ones.

One stack's file holds a ``federation`` section (see docs/federation.md):
lower servers come from config (a URL or targets) and/or from other stacks'
``monitoring`` output read through a StackReference.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from stacks.config.base import DnsLabel, StrictModel, matching
from stacks.config.durations import Duration, seconds
from stacks.config.monitoring import Grafana, PrometheusServer
from stacks.config.selectors import check_selector
from stacks.config.targets import Target
# org/project/stack, org/stack or stack (Pulumi's fully qualified stack names).
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")
# The renderer always scrapes <target>/federate; a URL may name it or nothing.
FEDERATE_PATHS = ("", "/", "/federate")


def check_federate_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} must be an http(s) URL with a host")
    if parts.path not in FEDERATE_PATHS or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: the path must be empty or /federate (a path prefix is not supported)")
    return url


FederateUrl = Annotated[str, AfterValidator(check_federate_url)]


class LowerAuth(StrictModel):
    """How the global server authenticates to a lower one. Secrets are names of
    existing Kubernetes Secrets in the federation namespace."""

    username: str | None = None
    password_secret: DnsLabel | None = None  # key "password"
    ca_secret: DnsLabel | None = None  # key "ca.crt"
    server_name: str | None = None
    insecure_skip_verify: bool = False

    def scheme_in_use(self) -> str | None:
        raise NotImplementedError

    @model_validator(mode="after")
    def _auth_and_tls(self):
        if self.password_secret and not self.username:
            raise ValueError("passwordSecret needs username (basic auth)")
        tls = [k for k, v in (("caSecret", self.ca_secret), ("serverName", self.server_name),
                              ("insecureSkipVerify", self.insecure_skip_verify)) if v]
        if tls and self.scheme_in_use() != "https":
            raise ValueError(f"TLS settings ({', '.join(tls)}) need an https URL or scheme")
        if self.insecure_skip_verify and self.ca_secret:
            raise ValueError("insecureSkipVerify would ignore caSecret; set one of them")
        return self


class LowerServer(LowerAuth):
    """A lower Prometheus given by URL (http(s)://host:port) or by targets."""

    name: DnsLabel
    url: FederateUrl | None = None
    targets: tuple[Target, ...] = ()
    scheme: Literal["http", "https"] | None = None

    def scheme_in_use(self) -> str | None:
        return urlsplit(self.url).scheme if self.url else self.scheme or "http"

    @model_validator(mode="before")
    @classmethod
    def _url_or_targets(cls, data):
        if isinstance(data, dict):
            has_url, has_targets = data.get("url") is not None, bool(data.get("targets"))
            if has_url == has_targets:
                raise ValueError("set either url or targets")
            if has_url and data.get("scheme") is not None:
                raise ValueError("scheme comes from url; set it only with targets")
        return data


class StackRef(LowerAuth):
    """A lower Prometheus read from another stack's monitoring output."""

    name: DnsLabel
    stack: Annotated[str, matching(_STACK_NAME, "a stack name (org/project/stack)")]
    output: str = "monitoring"
    # The output's federateUrl is a cluster-internal name: another cluster
    # reaches that Prometheus by its Ingress or LoadBalancer, given here.
    url: FederateUrl | None = None

    def scheme_in_use(self) -> str | None:
        # Without url the scheme is that of the referenced federateUrl (http in-cluster).
        return urlsplit(self.url).scheme if self.url else None


class FederationGrafana(Grafana):
    """The global Grafana: the fleet dashboard on the global Prometheus."""

    enabled: bool = True


class Federation(PrometheusServer):
    enabled: bool = False
    namespace: DnsLabel = "monitoring-global"
    lower: tuple[LowerServer, ...] = ()
    stack_references: tuple[StackRef, ...] = ()
    # Extra match[] selectors; with replaceDefaultSelectors only these.
    selectors: tuple[str, ...] = ()
    replace_default_selectors: bool = False
    # Federation pulls whole aggregates: allow for a slow lower server.
    scrape_interval: Duration = "60s"
    scrape_timeout: Duration = "45s"
    evaluation_interval: Duration = "60s"
    retention: Duration = "30d"
    # Default: the host stack's own Alertmanager.
    alertmanager_url: str | None = None
    grafana: FederationGrafana = Field(default_factory=FederationGrafana)

    @field_validator("lower")
    @classmethod
    def _unique_lower(cls, lower: tuple[LowerServer, ...]) -> tuple[LowerServer, ...]:
        _check_unique(lower, {}, "lower")
        return lower

    @field_validator("stack_references")
    @classmethod
    def _unique_refs(cls, refs: tuple[StackRef, ...], info: ValidationInfo) -> tuple[StackRef, ...]:
        taken = {lp.name: f"lower[{i}]" for i, lp in enumerate(info.data.get("lower", ()))}
        _check_unique(refs, taken, "stackReferences")
        return refs

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, selectors: tuple[str, ...]) -> tuple[str, ...]:
        for i, sel in enumerate(selectors):
            try:
                check_selector(sel)
            except ValueError as err:
                # A leading "[i]:" is joined to the key path by errors.py.
                raise ValueError(f"[{i}]: {err}") from None
        return selectors

    @field_validator("alertmanager_url")
    @classmethod
    def _alertmanager(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"{url!r} must be http://host[:port] (an in-cluster Alertmanager)")
        return url

    @model_validator(mode="after")
    def _cross_field(self) -> "Federation":
        if seconds(self.scrape_timeout) >= seconds(self.scrape_interval):
            raise ValueError(f"scrapeTimeout {self.scrape_timeout} must be shorter than scrapeInterval {self.scrape_interval}")
        if self.replace_default_selectors and not self.selectors:
            raise ValueError("replaceDefaultSelectors needs selectors (otherwise nothing is federated)")
        if self.service_type == "LoadBalancer" and not self.load_balancer_source_ranges:
            raise ValueError("serviceType LoadBalancer needs loadBalancerSourceRanges")
        if self.enabled and not (self.lower or self.stack_references):
            raise ValueError("enabled needs at least one lower server (lower or stackReferences)")
        return self


def _check_unique(items, taken: dict[str, str], key: str) -> None:
    taken = dict(taken)
    for i, item in enumerate(items):
        if item.name in taken:
            # A leading "[i].key:" is joined to the key path by errors.py.
            raise ValueError(f"[{i}].name: {item.name!r} is already the name of {taken[item.name]}")
        taken[item.name] = f"{key}[{i}]"


def _apart_from_the_stack(fed: Federation, info: ValidationInfo) -> Federation:
    """Rules against the rest of the stack: the other fields of StackConfig
    declared before ``federation`` are in ``info.data``."""
    if not fed.enabled or "monitoring" not in info.data:
        return fed  # a bad monitoring section is reported on its own
    monitoring = info.data["monitoring"]
    if monitoring.enabled and fed.namespace == monitoring.namespace:
        raise ValueError(f"namespace {fed.namespace!r} is the monitoring namespace; the global Prometheus needs its own")
    redis_ns = {info.data.get("redis_namespace")} | {d.namespace for d in info.data.get("deployments", ()) if d.namespace}
    if fed.namespace in redis_ns:
        raise ValueError(f"namespace {fed.namespace!r} is a Redis namespace; the global Prometheus needs its own")
    if fed.alertmanager_url is None and not monitoring.enabled:
        raise ValueError("alertmanagerUrl is required when monitoring is disabled (no Alertmanager of this stack to alert)")
    return fed


# The type of StackConfig.federation.
FederationSection = Annotated[Federation, AfterValidator(_apart_from_the_stack)]
