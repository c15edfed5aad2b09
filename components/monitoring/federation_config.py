"""prometheus.yml renderer for the global Prometheus that federates the
per-environment ones (GET /federate with match[] selectors).

Lower servers add their external labels (cluster, environment) to what
/federate returns; ``honor_labels`` keeps those and the original job and
instance. Each federate job also labels its series with ``source_prometheus``
so a series can be traced to the server it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from components.monitoring import labels as L
from components.monitoring.prometheus_config import RemoteWrite, render_remote_write

# Raw series a fleet view needs beyond the job: aggregates.
DEFAULT_RAW_SERIES = ("redis_up", "redis_instance_info", "redis_cluster_state")


@dataclass(frozen=True)
class LowerPrometheus:
    name: str  # becomes job federate-<name> and label source_prometheus
    targets: tuple[str, ...]
    scheme: str = "http"
    username: str | None = None
    password_file: str | None = None  # mounted Secret; never the password itself
    ca_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class FederationSpec:
    lower: tuple[LowerPrometheus, ...]
    cluster: str = "global"
    environment: str = "global"
    # Federation pulls whole aggregates: allow for a slow lower server.
    scrape_interval: str = "60s"
    scrape_timeout: str = "45s"
    evaluation_interval: str = "60s"
    global_scrape_interval: str = "30s"
    # None: no recording-rule selector (the selectors are all in extra_match).
    recording_rule_match: str | None = '{__name__=~"job:.*"}'
    include_up: bool = True
    raw_series: tuple[str, ...] = DEFAULT_RAW_SERIES
    rule_files: tuple[str, ...] = (f"{L.PROMETHEUS_RULES_DIR}/*.yml",)
    alertmanager_targets: tuple[str, ...] = ()
    self_target: str = f"localhost:{L.PROMETHEUS_PORT}"
    remote_write: tuple[RemoteWrite, ...] = ()
    extra_match: tuple[str, ...] = field(default_factory=tuple)


def match_selectors(spec: FederationSpec) -> list[str]:
    out = [spec.recording_rule_match] if spec.recording_rule_match else []
    if spec.include_up:
        out.append('{__name__="up"}')
    if spec.raw_series:
        out.append('{__name__=~"' + "|".join(spec.raw_series) + '"}')
    out += list(spec.extra_match)
    return out


def _federate_job(spec: FederationSpec, lower: LowerPrometheus) -> dict:
    job: dict = {
        "job_name": f"federate-{lower.name}",
        "honor_labels": True,
        "metrics_path": "/federate",
        "scheme": lower.scheme,
        "scrape_interval": spec.scrape_interval,
        "scrape_timeout": spec.scrape_timeout,
        "params": {"match[]": match_selectors(spec)},
    }
    if lower.username or lower.password_file:
        job["basic_auth"] = {k: v for k, v in (("username", lower.username), ("password_file", lower.password_file)) if v}
    tls = {k: v for k, v in (("ca_file", lower.ca_file), ("server_name", lower.server_name)) if v}
    if lower.insecure_skip_verify:
        tls["insecure_skip_verify"] = True
    if tls:
        job["tls_config"] = tls
    job["static_configs"] = [{"targets": list(lower.targets), "labels": {"source_prometheus": lower.name}}]
    return job


def build_federation_config(spec: FederationSpec) -> dict:
    names = [lp.name for lp in spec.lower]
    if not names or len(names) != len(set(names)):
        raise ValueError(f"federation needs lower Prometheus servers with distinct names, got {names}")
    config: dict = {
        "global": {
            "scrape_interval": spec.global_scrape_interval,
            "evaluation_interval": spec.evaluation_interval,
            "external_labels": {"cluster": spec.cluster, "environment": spec.environment},
        },
        "rule_files": list(spec.rule_files),
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": [spec.self_target]}]}]
        + [_federate_job(spec, lp) for lp in spec.lower],
    }
    if spec.alertmanager_targets:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(spec.alertmanager_targets)}]}]}
    if spec.remote_write:
        config["remote_write"] = render_remote_write(spec.remote_write)
    return config


def render_federation_config(spec: FederationSpec) -> str:
    return yaml.safe_dump(build_federation_config(spec), sort_keys=False)
