"""Pod pieces both Redis modes share: the exporter sidecar and the probes.
Placement, the PodDisruptionBudget and the NetworkPolicy are in
components/common/ (the HAProxy front end uses them too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.k8s import secret_env
from components.common.redis_acl import CLI_USER_ARGS, EXPORTER_PASSWORD_FILE_KEY
from components.common.redis_contract import EXPORTER_PORT, REDIS_PORT
from components.common.tls import CA_FILE, CA_VOLUME, CLI_TLS, tls_mount

# oliver006/redis_exporter is a static binary in a scratch image; any non-root uid works.
EXPORTER_UID = 59000


def field_env(fields: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}} for k, v in fields.items()]


def plain_env(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def _cli(port: int) -> str:
    # CLI_TLS: --tls --cacert when the container's env says TLS is on.
    return f"redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 -p {port}"


def liveness_probe(port: int = REDIS_PORT) -> dict[str, Any]:
    """Alive = redis answers at all. LOADING/BUSY/MASTERDOWN replies are alive:
    killing a node that is loading its AOF, running a slow script or waiting
    for its master only makes things worse. The timeout and threshold give a
    slow AOF fsync (which blocks the event loop) well over a minute."""
    check = f'out="$({_cli(port)} ping 2>&1)"; case "$out" in PONG|*LOADING*|*BUSY*|*MASTERDOWN*) exit 0;; esac; echo "$out"; exit 1'
    return {
        "exec": {"command": ["sh", "-c", check]},
        "periodSeconds": 15,
        "timeoutSeconds": 10,
        "failureThreshold": 6,
    }


def startup_probe(port: int = REDIS_PORT) -> dict[str, Any]:
    """Up to ten minutes to load a large AOF before liveness starts counting."""
    probe = liveness_probe(port)
    probe.update({"periodSeconds": 10, "failureThreshold": 60})
    return probe


def exec_probe(script: str, period: int = 5, timeout: int = 5, failures: int = 3) -> dict[str, Any]:
    return {
        "exec": {"command": ["sh", "-c", script]},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def exporter_addr(redis_port: int = REDIS_PORT, tls: bool = False) -> str:
    """What the exporter scrapes; also the key of its password file. With TLS
    it is rediss:// to localhost (a name in the certificate: Go checks it)."""
    return f"rediss://localhost:{redis_port}" if tls else f"redis://127.0.0.1:{redis_port}"


# The data node's exporter without TLS.
EXPORTER_REDIS_ADDR = exporter_addr()
# Where the exporter container mounts its user's Secret.
EXPORTER_SECRET_DIR = "/run/secrets/redis-exporter"


def exporter_container(image: str, secret_name: str, user: str | None = None, redis_port: int = REDIS_PORT,
                       tls: bool = False) -> dict[str, Any]:
    """redis_exporter for this pod's node only (or, on ``redis_port`` 26379,
    this pod's Sentinel: the exporter sees ``redis_mode:sentinel`` and
    exports ``redis_sentinel_*``); dashboards aggregate by deployment.
    With an ACL ``user`` it logs in as that user and reads the password from
    a file (``exporter_volume``), not from its environment. With TLS it
    verifies the server with the CA alone (never the key)."""
    env: list[dict[str, Any]] = [{"name": "REDIS_ADDR", "value": exporter_addr(redis_port, tls)}]
    mounts: list[dict[str, Any]] = []
    if user is None:
        env.append(secret_env("REDIS_PASSWORD", secret_name))
    else:
        env += [
            {"name": "REDIS_USER", "value": user},
            {"name": "REDIS_PASSWORD_FILE", "value": f"{EXPORTER_SECRET_DIR}/{EXPORTER_PASSWORD_FILE_KEY}"},
        ]
        mounts.append({"name": "exporter-auth", "mountPath": EXPORTER_SECRET_DIR, "readOnly": True})
    if tls:
        mounts.append(tls_mount(CA_VOLUME))
    container: dict[str, Any] = {
        "name": "exporter",
        "image": image,
        "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
        "env": env,
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 30, "timeoutSeconds": 5},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": EXPORTER_UID,
            "runAsGroup": EXPORTER_UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if tls:
        container["args"] = [f"--tls-ca-cert-file={CA_FILE}"]
    if mounts:
        container["volumeMounts"] = mounts
    return container


def exporter_volume(secret_name: str) -> dict[str, Any]:
    """The exporter user's password file, mode 0440: the exporter's uid reads
    it through the pod's fsGroup, a supplemental group of every container."""
    return {"name": "exporter-auth", "secret": {
        "secretName": secret_name, "defaultMode": 0o440,
        "items": [{"key": EXPORTER_PASSWORD_FILE_KEY, "path": EXPORTER_PASSWORD_FILE_KEY}]}}


def scrape_annotations(port: int = EXPORTER_PORT) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


@dataclass(frozen=True)
class PodAdditions:
    """What another concern adds to the data pods (the composition in stacks/
    hands it over; this package does not know what it is for)."""

    containers: tuple[dict[str, Any], ...] = ()
    volumes: tuple[dict[str, Any], ...] = ()
    # Mounts of the redis container, for volumes it shares with the added containers.
    redis_mounts: tuple[dict[str, Any], ...] = ()
    # Shell command the redis container's preStop runs once its own step (a
    # master's handover) is over, whatever its result: how a sidecar learns
    # it may start its own shutdown work.
    pre_stop_signal: str | None = None
    # Seconds the added containers' shutdown work may take, on top of the
    # redis container's own grace period.
    grace_seconds: int = 0
    # NetworkPolicy egress rules the added containers need (the pod's
    # policy is the only place a single container's traffic can be allowed).
    egress: tuple[dict[str, Any], ...] = ()
