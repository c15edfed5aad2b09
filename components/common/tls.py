"""TLS of one Redis deployment: the cert-manager Certificate, where its Secret
is mounted, and what every pod and script is told about it.

Pure: no Pulumi import. One Certificate per deployment, whose Secret
(`<deployment>-tls`: `tls.crt`, `tls.key`, `ca.crt`) every server of the
deployment mounts: data nodes, Sentinels. Clients of the deployment (HAProxy's
checks, the exporter, the bootstrap and operations Jobs) mount only `ca.crt`
from it: they verify the servers and never hold the private key (the
restore Job's temporary server is the one exception, see
components/operations/pods.py).
Authentication stays the password's (`tls-auth-clients no`): an application
needs the CA, not a client certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TLS_DIR = "/tls"
CERT_KEY, KEY_KEY, CA_KEY = "tls.crt", "tls.key", "ca.crt"
CERT_FILE, KEY_FILE, CA_FILE = f"{TLS_DIR}/{CERT_KEY}", f"{TLS_DIR}/{KEY_KEY}", f"{TLS_DIR}/{CA_KEY}"
TLS_VOLUME = "tls"
# The CA alone, for a client container in a pod whose server mounts TLS_VOLUME.
CA_VOLUME = "tls-ca"
# Env every script and probe reads (set only with TLS on): the scripts build
# their redis-cli TLS options from these in one place each.
TLS_ENV = "REDIS_TLS"
CA_ENV, CERT_ENV, KEY_ENV = "REDIS_CA_FILE", "REDIS_CERT_FILE", "REDIS_KEY_FILE"
# For inline probe commands (sh -c): expands to nothing without TLS.
CLI_TLS = f"${{{TLS_ENV}:+--tls --cacert ${CA_ENV}}}"

CERT_MANAGER_API = "cert-manager.io/v1"


def tls_secret_name(deployment: str) -> str:
    return f"{deployment}-tls"


@dataclass(frozen=True)
class IssuerRef:
    """The cert-manager issuer that signs a Certificate, as its ``issuerRef``
    names it."""

    name: str
    kind: str = "ClusterIssuer"
    group: str = "cert-manager.io"


@dataclass(frozen=True)
class TlsArgs:
    """Per deployment, from config (stacks/redis.py)."""

    secret_name: str
    issuer: IssuerRef
    # Names the composition adds (the HAProxy Services in front of a Sentinel set).
    extra_service_names: tuple[str, ...] = ()


def service_dns_names(service: str, namespace: str, cluster_domain: str) -> list[str]:
    """Every way a client in the cluster writes a Service's name."""
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.{cluster_domain}"]


def certificate_spec(tls: TlsArgs, namespace: str, cluster_domain: str, headless_services: tuple[str, ...],
                     services: tuple[str, ...], labels: dict[str, str]) -> dict[str, Any]:
    """cert-manager Certificate spec: one leaf for every server of the deployment.

    Pods are named by a wildcard under each headless Service (cluster
    redirects and Sentinel answers carry pod host names); Services by every
    form a client may use; localhost and 127.0.0.1 for the exporter and the
    probes, which connect to their own pod. Server and client auth: a node
    is a TLS client of its peers (replication, cluster bus)."""
    names: list[str] = []
    for h in headless_services:
        names += [f"*.{h}.{namespace}.svc.{cluster_domain}", f"{h}.{namespace}.svc.{cluster_domain}"]
    for s in (*services, *tls.extra_service_names):
        names += service_dns_names(s, namespace, cluster_domain)
    names.append("localhost")
    return {
        "secretName": tls.secret_name,
        # The Secret carries the deployment's labels, so it is found like
        # every other object of the deployment; cert-manager manages it.
        "secretTemplate": {"labels": labels | {"app.kubernetes.io/managed-by": "cert-manager"}},
        "dnsNames": list(dict.fromkeys(names)),
        "ipAddresses": ["127.0.0.1"],
        # 90 days, renewed 30 days before the end: the pods reload the new
        # files (docs/security.md "TLS") long before the old leaf expires.
        "duration": "2160h",
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
        "issuerRef": {"name": tls.issuer.name, "kind": tls.issuer.kind, "group": tls.issuer.group},
    }


def tls_env(with_key: bool) -> list[dict[str, Any]]:
    """Plain env naming the mounted files; servers also get their cert and key."""
    env = [{"name": TLS_ENV, "value": "yes"}, {"name": CA_ENV, "value": CA_FILE}]
    if with_key:
        env += [{"name": CERT_ENV, "value": CERT_FILE}, {"name": KEY_ENV, "value": KEY_FILE}]
    return env


def tls_volume(secret_name: str, ca_only: bool, name: str = TLS_VOLUME) -> dict[str, Any]:
    """The Secret as a directory (no subPath: the kubelet then swaps renewed
    files in place, which is what lets the servers reload them)."""
    source: dict[str, Any] = {"secretName": secret_name, "defaultMode": 0o440}
    if ca_only:
        source["items"] = [{"key": CA_KEY, "path": CA_KEY}]
    return {"name": name, "secret": source}


def tls_mount(name: str = TLS_VOLUME) -> dict[str, Any]:
    return {"name": name, "mountPath": TLS_DIR, "readOnly": True}


@dataclass(frozen=True)
class TlsFiles:
    """Where a server reads its certificate; tests map these to a folder."""

    cert: str = CERT_FILE
    key: str = KEY_FILE
    ca: str = CA_FILE


def redis_tls_directives(files: TlsFiles, cluster: bool) -> list[tuple[str, str]]:
    """redis.conf / sentinel.conf lines besides the ports (the caller turns the
    plain port off): replication (and Sentinel's links) and the cluster bus
    over TLS too."""
    out = [
        ("tls-cert-file", files.cert),
        ("tls-key-file", files.key),
        ("tls-ca-cert-file", files.ca),
        # Clients prove who they are by password (ACL); the certificate
        # proves the server. Mutual TLS would make every app carry a cert.
        ("tls-auth-clients", "no"),
        ("tls-replication", "yes"),
        ("tls-protocols", '"TLSv1.2 TLSv1.3"'),
    ]
    if cluster:
        out.append(("tls-cluster", "yes"))
    return out
