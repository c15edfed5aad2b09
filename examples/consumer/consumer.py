"""Read one redis-platform deployment through a StackReference and give the
consuming app its client settings: a ConfigMap (endpoints, mode) and a Secret
(password) in the app's namespace, both exported too.

The platform's output ``redis-<name>`` is one object holding a Pulumi secret
(the password), so the engine marks the whole output secret. This program
takes the endpoints out and unsecrets only them; the password stays secret
all the way to the Kubernetes Secret.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Output shapes of redis-platform this program understands (stacks/redis.py
# OUTPUT_SCHEMA_VERSION). A newer platform output fails the run, loudly.
SUPPORTED_SCHEMA_VERSIONS = (2,)
MODES = ("cluster", "sentinel")
# How a Sentinel-mode app reaches the master: through HAProxy (any client),
# or by asking the Sentinels and connecting directly (Sentinel-aware clients:
# redis-py Sentinel, Jedis, Lettuce), which skips the proxy hop that costs
# about half the throughput of unpipelined requests (docs/benchmarks.md).
CLIENT_PATHS = ("haproxy", "sentinel")
PROJECT = "redis-consumer"


class PlatformOutputError(Exception):
    pass


def client_settings(output: dict[str, Any], key: str = "redis output", client_path: str = "haproxy") -> dict[str, str]:
    """The non-secret settings an app needs, as environment variables (str -> str).

    ``client_path`` matters for Sentinel mode only (a cluster client always
    talks to the nodes): ``sentinel`` hands out the Sentinels and the master
    set instead of the HAProxy endpoints."""
    if client_path not in CLIENT_PATHS:
        raise PlatformOutputError(f"clientPath {client_path!r} is not one of {CLIENT_PATHS}")
    if not isinstance(output, dict):
        raise PlatformOutputError(f"{key}: missing from the platform stack (is the deployment name right?)")
    version = output.get("schemaVersion")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise PlatformOutputError(
            f"{key}: schemaVersion {version!r} is not one this consumer reads {SUPPORTED_SCHEMA_VERSIONS}; update it"
        )
    mode = output.get("mode")
    if mode not in MODES:
        raise PlatformOutputError(f"{key}: unknown mode {mode!r}")
    missing = [k for k in ("secretName", "secretKey", "port") if k not in output]
    if missing:
        raise PlatformOutputError(f"{key}: the platform has not built this deployment yet (no {', '.join(missing)})")
    settings = {"REDIS_MODE": mode, "REDIS_TLS": "true" if output.get("tls") else "false"}
    if output.get("username"):
        # The ACL user the password belongs to (not secret); without it the
        # password alone would be tried as the `default` user, which is off.
        settings["REDIS_USERNAME"] = output["username"]
    if mode == "cluster":
        settings["REDIS_STARTUP_NODES"] = ",".join(output["seedEndpoints"])
    elif "writeEndpoint" in output and client_path == "haproxy":
        # Through HAProxy: it sends writes to the current master, reads to replicas.
        settings["REDIS_WRITE_ENDPOINT"] = output["writeEndpoint"]
        settings["REDIS_READ_ENDPOINT"] = output.get("readEndpoint") or output["writeEndpoint"]
    else:
        # Asked for, or no HAProxy in front: ask the Sentinels where the master is.
        if not output.get("sentinelEndpoints") or not output.get("masterSet"):
            raise PlatformOutputError(f"{key}: no sentinelEndpoints/masterSet for a Sentinel-aware client")
        settings["REDIS_SENTINELS"] = ",".join(output["sentinelEndpoints"])
        settings["REDIS_MASTER_SET"] = output["masterSet"]
    return settings


def platform_stack_name(config: pulumi.Config) -> str:
    return f"{config.require('platformOrg')}/redis-platform/{config.require('environment')}"


def main() -> dict[str, Any]:
    config = pulumi.Config(PROJECT)
    deployment = config.require("deployment")
    namespace = config.require("namespace")
    client_path = config.get("clientPath") or "haproxy"
    key = f"redis-{deployment}"
    platform = pulumi.StackReference("redis-platform", stack_name=platform_stack_name(config))
    output = platform.get_output(key)

    # Checked once; both values below derive from the checked output, so a
    # bad output fails with client_settings' message, not a KeyError.
    checked = output.apply(lambda o: (o, client_settings(o, key, client_path)))
    settings = pulumi.Output.unsecret(checked.apply(lambda pair: pair[1]))
    password = pulumi.Output.secret(checked.apply(lambda pair: pair[0]["password"]))

    names = {"app.kubernetes.io/part-of": "redis-consumer", "redis-platform/client-of": deployment}
    config_map = k8s.core.v1.ConfigMap(
        f"{key}-client",
        metadata={"name": f"{key}-client", "namespace": namespace, "labels": names},
        data=settings,
    )
    secret = k8s.core.v1.Secret(
        f"{key}-auth",
        metadata={"name": f"{key}-auth", "namespace": namespace, "labels": names},
        type="Opaque",
        string_data={"REDIS_PASSWORD": password},
    )
    outputs = {
        "redisSettings": settings,
        "redisPassword": password,
        "configMapName": config_map.metadata["name"],
        "secretName": secret.metadata["name"],
    }
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
