"""What every pod of one Redis deployment agrees on: data nodes, Sentinels,
the HAProxy front end and the operations Jobs are built by different
component packages, and these names are the only thing they share.

Pure: no Pulumi import.
"""

from __future__ import annotations

import re

REDIS_PORT = 6379
CLUSTER_BUS_PORT = 16379
SENTINEL_PORT = 26379
EXPORTER_PORT = 9121

# Paths as the pods see them. Tests map them to a temporary directory.
DATA_DIR = "/data"
SCRIPTS_DIR = "/scripts"

# app.kubernetes.io/component of each pod group (NetworkPolicies of one
# package name the pods another package builds).
CLUSTER_NODE = "cluster-node"
DATA_NODE = "data-node"
SENTINEL = "sentinel"

# uid/gid of the redis user in the official redis images (alpine and debian).
# Scanners flag a UID below 10000; this one owns /data in the image, and a
# volume written by another uid would need a chown on every start.
REDIS_UID = 999

# A host name or IPv4 address as the renderers accept them (stable pod DNS
# names in pods, loopback addresses in tests).
HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

# A Sentinel master-set name, as sentinel.conf and haproxy.cfg both write it
# (unquoted, one word).
_MASTER_SET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_master_set(name: str) -> None:
    """Raises ValueError, naming master_set, unless ``name`` is a master-set name."""
    if not _MASTER_SET_RE.match(name):
        raise ValueError(f"master_set {name!r}: letters, digits, '.', '_' and '-' only")

# Environment variable names shared by containers, scripts and probes.
# REDISCLI_AUTH is what redis-cli reads, so the password never needs -a.
PASSWORD_ENV = "REDIS_PASSWORD"
REDISCLI_AUTH_ENV = "REDISCLI_AUTH"
# Key of the password in the deployment's Secret.
PASSWORD_KEY = "password"


def auth_secret_name(deployment: str) -> str:
    return f"{deployment}-auth"


def deployment_labels(deployment: str, team: str) -> dict[str, str]:
    """On every pod of a deployment (nodes, Sentinels, HAProxy, Jobs): the
    owning team for alert routing, and the deployment for NetworkPolicy peers."""
    return {"redis-platform/team": team, "redis-platform/deployment": deployment}


def peer_selector(deployment: str) -> dict[str, str]:
    return {"redis-platform/deployment": deployment}
