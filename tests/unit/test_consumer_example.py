"""examples/consumer: the StackReference is mocked with the platform's real
stack output (from the dev stack under mocks), the password stays secret
end to end, and the app builds redis-py clients from the settings."""

from __future__ import annotations

import contextvars
import sys
from typing import Any

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS

from stacks.harness import RecordingMocks, run_program
from tests.unit.conftest import ROOT, run_stack_file

sys.path.insert(0, str(ROOT / "examples" / "consumer"))
import app  # noqa: E402  (examples/consumer is a Pulumi project dir, not a package)
import consumer  # noqa: E402

STACK_REFERENCE = "pulumi:pulumi:StackReference"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
PASSWORD = "consumer-test-password-9f1c"
CONFIG = {
    "redis-consumer:platformOrg": "acme",
    "redis-consumer:environment": "dev",
    "redis-consumer:deployment": "sessions",
    "redis-consumer:namespace": "web",
}
SENTINEL_OUTPUT = {  # components/redis/sentinel.py's output with its HAProxy front end
    "schemaVersion": 2, "mode": "sentinel", "team": "web", "tls": False, "port": 6379, "masterSet": "mymaster",
    "sentinelEndpoints": ["cache-sentinel-0.cache-sentinel-headless.redis.svc.cluster.local:26379"],
    "writeEndpoint": "cache-haproxy-write.redis.svc.cluster.local:6379",
    "readEndpoint": "cache-haproxy-read.redis.svc.cluster.local:6379",
    "secretName": "cache-auth", "secretKey": "password", "password": "[secret]",
}


@pytest.fixture(scope="module")
def platform_outputs() -> dict[str, Any]:
    return run_stack_file("dev").outputs


class ReferenceMocks(RecordingMocks):
    """The engine's answer to a StackReference: state {"outputs": ..., "secretOutputNames": [...]},
    the password carried as a secret inside the deployment's output object."""

    def __init__(self, platform: dict[str, Any]) -> None:
        super().__init__()
        self.platform = platform
        self.raw_inputs: dict[str, dict] = {}
        self.referenced: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE:
            self.referenced.append(args.inputs["name"])
            outputs = {
                k: ({**v, "password": {**SECRET_SIG, "value": PASSWORD}} if isinstance(v, dict) and "password" in v else v)
                for k, v in self.platform.items()
            }
            secret_names = [k for k, v in self.platform.items() if isinstance(v, dict) and "password" in v]
            return args.inputs["name"], {"name": args.inputs["name"], "outputs": outputs, "secretOutputNames": secret_names}
        self.raw_inputs[args.name] = dict(args.inputs)
        return super().new_resource(args)


def run_consumer(platform: dict[str, Any], **config: str):
    mocks = ReferenceMocks(platform)

    def isolated():
        # The runtime's set of pending output tasks is a context variable whose
        # default object every copied context shares; a run that fails leaves
        # its tasks there for the next run to await on a closed loop. A fresh
        # set here keeps a failing consumer run from breaking later tests.
        SETTINGS.outputs = set()
        return run_program(consumer.main, {**CONFIG, **config}, stack="dev", mocks=mocks)

    return contextvars.copy_context().run(isolated), mocks


def test_cluster_settings_from_the_real_platform_output(platform_outputs):
    run, mocks = run_consumer(platform_outputs)
    assert mocks.referenced == ["acme/redis-platform/dev"]
    sessions = platform_outputs["redis-sessions"]
    settings = run.outputs["redisSettings"]
    assert settings["REDIS_MODE"] == "cluster"
    assert settings["REDIS_STARTUP_NODES"].split(",") == sessions["seedEndpoints"]
    # The password is the app user's: the client must name the user.
    assert settings["REDIS_USERNAME"] == sessions["username"] == "app"
    (cm,) = run.k8s("ConfigMap")
    assert cm["metadata"]["namespace"] == "web" and cm["data"] == settings
    assert PASSWORD not in str(cm), "the password is not in the ConfigMap"


def test_password_stays_secret(platform_outputs):
    run, mocks = run_consumer(platform_outputs)
    assert run.outputs["redisPassword"] == "[secret]", "exported only as a Pulumi secret"
    assert run.outputs["redisSettings"] != "[secret]", "endpoints are readable"
    (secret,) = run.k8s("Secret")
    assert secret["stringData"]["REDIS_PASSWORD"] == PASSWORD
    # The Python SDK marks the whole stringData map secret on the wire.
    raw = mocks.raw_inputs["redis-sessions-auth"]["stringData"]
    assert SECRET_SIG.items() <= raw.items(), "sent to the engine as a secret"
    assert raw["value"] == {"REDIS_PASSWORD": PASSWORD}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schemaVersion": 1}, "schemaVersion 1"),
        ({"schemaVersion": 3}, "schemaVersion 3"),
        ({"mode": "standalone"}, "unknown mode"),
    ],
)
def test_unsupported_outputs_fail_with_a_clear_message(platform_outputs, change, message):
    changed = {**platform_outputs, "redis-sessions": {**platform_outputs["redis-sessions"], **change}}
    with pytest.raises(Exception, match=message):
        run_consumer(changed)


def test_missing_deployment_fails_with_its_name(platform_outputs):
    with pytest.raises(Exception, match="redis-nope: missing"):
        run_consumer(platform_outputs, **{"redis-consumer:deployment": "nope"})


def test_sentinel_settings_go_through_haproxy():
    settings = consumer.client_settings(SENTINEL_OUTPUT)
    assert settings["REDIS_WRITE_ENDPOINT"] == SENTINEL_OUTPUT["writeEndpoint"]
    assert settings["REDIS_READ_ENDPOINT"] == SENTINEL_OUTPUT["readEndpoint"]
    without_haproxy = {k: v for k, v in SENTINEL_OUTPUT.items() if k not in ("writeEndpoint", "readEndpoint")}
    direct = consumer.client_settings(without_haproxy)
    assert direct["REDIS_MASTER_SET"] == "mymaster" and direct["REDIS_SENTINELS"].endswith(":26379")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_built_deployment_of_the_real_stacks_is_readable(stack):
    outputs = run_stack_file(stack).outputs
    built = {k: v for k, v in outputs.items() if k.startswith("redis-") and "secretName" in v}
    assert built, "at least one deployment is built"
    for key, value in built.items():
        settings = consumer.client_settings(value, key)
        assert settings["REDIS_MODE"] == value["mode"]
        assert "[secret]" not in str(settings)


def test_app_builds_haproxy_clients_without_the_password_in_settings():
    env = {**consumer.client_settings(SENTINEL_OUTPUT), "REDIS_PASSWORD": PASSWORD}
    clients = app.connect(env)  # redis.Redis connects lazily: nothing is dialled here
    write = clients.write.connection_pool.connection_kwargs
    read = clients.read.connection_pool.connection_kwargs
    assert (write["host"], write["port"]) == ("cache-haproxy-write.redis.svc.cluster.local", 6379)
    assert (read["host"], read["port"]) == ("cache-haproxy-read.redis.svc.cluster.local", 6379)
    assert write["password"] == read["password"] == PASSWORD


def test_app_parses_cluster_startup_nodes(platform_outputs):
    env = consumer.client_settings(platform_outputs["redis-sessions"])
    nodes = app.startup_nodes(env)
    assert env["REDIS_USERNAME"] == "app"
    assert [f"{n.host}:{n.port}" for n in nodes] == platform_outputs["redis-sessions"]["seedEndpoints"]
    with pytest.raises(ValueError, match="host:port"):
        app.host_port("no-port")


def test_sentinel_aware_path_hands_out_sentinels_not_haproxy():
    settings = consumer.client_settings(SENTINEL_OUTPUT, client_path="sentinel")
    assert "REDIS_WRITE_ENDPOINT" not in settings and "REDIS_READ_ENDPOINT" not in settings
    assert settings["REDIS_SENTINELS"].split(",") == SENTINEL_OUTPUT["sentinelEndpoints"]
    assert settings["REDIS_MASTER_SET"] == "mymaster"
    with pytest.raises(consumer.PlatformOutputError, match="clientPath 'direct'"):
        consumer.client_settings(SENTINEL_OUTPUT, client_path="direct")


def test_sentinel_path_on_the_real_platform_output(platform_outputs):
    run, _ = run_consumer(platform_outputs, **{"redis-consumer:deployment": "cache",
                                               "redis-consumer:clientPath": "sentinel"})
    cache = platform_outputs["redis-cache"]
    settings = run.outputs["redisSettings"]
    assert settings["REDIS_MODE"] == "sentinel"
    assert settings["REDIS_SENTINELS"].split(",") == cache["sentinelEndpoints"]
    assert settings["REDIS_MASTER_SET"] == cache["masterSet"]
    assert settings["REDIS_USERNAME"] == cache["username"] == "app"
    assert "REDIS_WRITE_ENDPOINT" not in settings
    # The default stays the proxy: any client works through it.
    default, _ = run_consumer(platform_outputs, **{"redis-consumer:deployment": "cache"})
    assert default.outputs["redisSettings"]["REDIS_WRITE_ENDPOINT"] == cache["writeEndpoint"]


def test_app_builds_a_sentinel_client_for_the_sentinel_path():
    output = {**SENTINEL_OUTPUT, "username": "app"}
    env = {**consumer.client_settings(output, client_path="sentinel"), "REDIS_PASSWORD": PASSWORD}
    clients = app.connect(env)  # nothing is dialled until the first command
    pool = clients.write.connection_pool
    assert pool.service_name == "mymaster" and pool.is_master
    assert not clients.read.connection_pool.is_master
    sentinels = pool.sentinel_manager.sentinels
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
            for s in sentinels] == [("cache-sentinel-0.cache-sentinel-headless.redis.svc.cluster.local", 26379)]
    assert sentinels[0].connection_pool.connection_kwargs["password"] == PASSWORD
    assert pool.connection_kwargs["password"] == PASSWORD
    # The app user on the Sentinels and on the nodes alike.
    assert sentinels[0].connection_pool.connection_kwargs["username"] == "app"
    assert pool.connection_kwargs["username"] == "app"


def test_app_verifies_tls_against_the_platform_ca_file():
    env = {**consumer.client_settings(SENTINEL_OUTPUT | {"tls": True, "caSecret": "cache-tls", "username": "app"}),
           "REDIS_PASSWORD": PASSWORD, "REDIS_CA_FILE": "/etc/redis-ca/ca.crt"}
    assert env["REDIS_TLS"] == "true"
    kwargs = app.connect(env).write.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == "/etc/redis-ca/ca.crt"
    assert kwargs["username"] == "app"
    # The Sentinels speak TLS only too: a Sentinel-aware client dials them over TLS.
    env = {**consumer.client_settings(SENTINEL_OUTPUT | {"tls": True, "caSecret": "cache-tls", "username": "app"},
                                      client_path="sentinel"),
           "REDIS_PASSWORD": PASSWORD, "REDIS_CA_FILE": "/etc/redis-ca/ca.crt"}
    pool = app.connect(env).write.connection_pool
    sentinel_kwargs = pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs
    assert sentinel_kwargs["ssl_ca_certs"] == pool.connection_kwargs["ssl_ca_certs"] == "/etc/redis-ca/ca.crt"
    assert sentinel_kwargs["username"] == "app"
