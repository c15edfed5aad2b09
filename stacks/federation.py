"""Composition: the federation config section -> the Federation component.

Lower servers from ``stackReferences`` are read through a
``pulumi.StackReference``: their endpoint is an Output, and the component
renders the federation config once every endpoint is known.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.common.args import args_from
from components.monitoring import labels as L
from components.monitoring.grafana import GrafanaServer
from components.monitoring.prometheus import PrometheusServer
from components.monitoring.federation import Endpoint, Federation, FederationArgs, LowerServerArgs
from components.monitoring.network_policies import target_port, url_port
from components.monitoring.stack import RemoteWriteArgs
from stacks.config import StackConfig
from stacks.config.federation import LowerAuth, LowerServer, StackRef


def _auth(server: LowerAuth) -> dict[str, Any]:
    return {
        "username": server.username,
        "password_secret": server.password_secret,
        "ca_secret": server.ca_secret,
        "server_name": server.server_name,
        "insecure_skip_verify": server.insecure_skip_verify,
    }


def configured_lower(server: LowerServer) -> LowerServerArgs:
    endpoint = Endpoint.from_url(server.url) if server.url else Endpoint(server.scheme or "http", server.targets)
    return LowerServerArgs(name=server.name, endpoint=endpoint, **_auth(server))


def referenced_endpoint(ref: StackRef, output: dict | None) -> Endpoint:
    """The endpoint of a referenced stack's Prometheus: the configured URL
    (reachable from this cluster) or else the output's federateUrl."""
    if ref.url:
        return Endpoint.from_url(ref.url)
    url = (output or {}).get("federateUrl")
    if not url:
        raise ValueError(
            f"federation.stackReferences: stack {ref.stack} has no output {ref.output}.federateUrl "
            f"(is monitoring enabled there?); set url for {ref.name!r}"
        )
    return Endpoint.from_url(url)


def referenced_lower(ref: StackRef) -> LowerServerArgs:
    stack = pulumi.StackReference(f"federation-{ref.name}", stack_name=ref.stack)
    endpoint = stack.get_output(ref.output).apply(lambda output: referenced_endpoint(ref, output))
    return LowerServerArgs(name=ref.name, endpoint=endpoint, **_auth(ref))


def egress_ports(cfg: StackConfig, alertmanager_url: str | None) -> tuple[int, ...]:
    """Where the global Prometheus connects: every lower server's port (a
    referenced stack without a url publishes this program's Prometheus
    port), its Alertmanager and its remote_write endpoints."""
    fed = cfg.federation
    ports = {L.PROMETHEUS_PORT}
    for server in fed.lower:
        ports |= {url_port(server.url)} if server.url else {target_port(t, server.scheme or "http") for t in server.targets}
    ports |= {url_port(ref.url) for ref in fed.stack_references if ref.url}
    ports |= {url_port(alertmanager_url)} if alertmanager_url else set()
    ports |= {url_port(rw.url) for rw in fed.remote_write}
    return tuple(sorted(ports))


def build_federation(
    cfg: StackConfig, storage_class: str, monitoring: dict | None, opts: pulumi.ResourceOptions | None = None
) -> dict[str, Any]:
    """``monitoring`` is this stack's Monitoring outputs (its Alertmanager is the default)."""
    fed, g = cfg.federation, cfg.federation.grafana
    alertmanager_url = fed.alertmanager_url or (monitoring or {}).get("alertmanagerUrl")
    lower = tuple(configured_lower(s) for s in fed.lower)
    lower += tuple(referenced_lower(r) for r in fed.stack_references)
    component = Federation(
        "federation",
        # Namespace, scrape timeout and selectors under their config names, the
        # server's image, retention, storage, timing and Service settings too;
        # the rest is derived or renamed here.
        args_from(
            fed, FederationArgs,
            cluster=cfg.cluster_name,
            lower=lower,
            storage_class_name=storage_class,
            server=args_from(fed, PrometheusServer),
            alertmanager_url=alertmanager_url,
            egress_ports=egress_ports(cfg, alertmanager_url),
            remote_write=tuple(RemoteWriteArgs(r.url, r.username, r.password_secret) for r in fed.remote_write),
            grafana=args_from(g, GrafanaServer) if g.enabled else None,
        ),
        opts=opts,
    )
    return component.outputs
