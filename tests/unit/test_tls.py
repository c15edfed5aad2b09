"""TLS on (issue 17) as the real program registers it under mocks: the
cert-manager Certificate, what every pod mounts and is told, the rendered
redis.conf / sentinel.conf / haproxy.cfg, and the outputs."""

from __future__ import annotations

import pytest

from components.common.tls import CA_FILE, CERT_FILE, KEY_FILE
from tests.crd_schema import validate_custom
from tests.unit.conftest import BASE_CONFIG, run_with
from tests.unit.test_backup import S3

TLS = {"enabled": True, "issuer": {"name": "team-ca", "kind": "Issuer"}}
DOMAIN = "redis.svc.cluster.local"


@pytest.fixture(scope="module")
def run():
    deps = [{"name": "orders", "team": "web", "mode": "cluster", "size": "small", "tls": TLS},
            {"name": "cache", "team": "web", "mode": "sentinel", "size": "small", "tls": TLS},
            {"name": "plain", "team": "web", "mode": "sentinel", "size": "small"}]
    return run_with(BASE_CONFIG | {"redisNamespace": "redis", "backup": S3, "deployments": deps})


def one(run, kind, name):
    (obj,) = run.k8s(kind, name)
    return obj


def pod_spec(obj):
    spec = obj["spec"]
    spec = spec.get("jobTemplate", {}).get("spec", spec)
    return spec["template"]["spec"]


def containers(obj):
    s = pod_spec(obj)
    return {c["name"]: c for c in s.get("initContainers", []) + s["containers"]}


def env(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def volume(obj, name="tls"):
    return next((v for v in pod_spec(obj)["volumes"] if v["name"] == name), None)


def test_one_certificate_per_deployment_names_every_server_name(run):
    cluster = one(run, "Certificate", "orders-tls")
    validate_custom(cluster)
    spec = cluster["spec"]
    assert spec["secretName"] == "orders-tls"
    assert spec["issuerRef"] == {"name": "team-ca", "kind": "Issuer", "group": "cert-manager.io"}
    assert {"server auth", "client auth"} <= set(spec["usages"])
    assert f"*.orders-headless.{DOMAIN}" in spec["dnsNames"]
    assert {"orders", "orders.redis", "orders.redis.svc", f"orders.{DOMAIN}", "localhost"} <= set(spec["dnsNames"])
    assert spec["ipAddresses"] == ["127.0.0.1"]
    assert spec["privateKey"]["rotationPolicy"] == "Always"
    sentinel = one(run, "Certificate", "cache-tls")["spec"]["dnsNames"]
    # Data nodes, Sentinels, the Sentinel Service and both HAProxy Services.
    assert {f"*.cache-headless.{DOMAIN}", f"*.cache-sentinel-headless.{DOMAIN}", f"cache-sentinel.{DOMAIN}",
            f"cache.{DOMAIN}", f"cache-read.{DOMAIN}"} <= set(sentinel)
    assert sorted(c["metadata"]["name"] for c in run.k8s("Certificate")) == ["cache-tls", "orders-tls"]


def test_servers_mount_the_whole_secret_clients_only_the_ca(run):
    for sts in ("orders", "cache", "cache-sentinel"):
        obj = one(run, "StatefulSet", sts)
        assert volume(obj)["secret"] == {"secretName": sts.split("-")[0] + "-tls", "defaultMode": 0o440}
        server = containers(obj)["sentinel" if sts.endswith("sentinel") else "redis"]
        assert {"name": "tls", "mountPath": "/tls", "readOnly": True} in server["volumeMounts"]
        assert env(server).items() >= {"REDIS_TLS": "yes", "REDIS_CA_FILE": CA_FILE, "REDIS_CERT_FILE": CERT_FILE,
                                    "REDIS_KEY_FILE": KEY_FILE}.items()
        # No subPath anywhere: a renewed Secret reaches the running pod.
        assert all("subPath" not in m for c in containers(obj).values() for m in c["volumeMounts"])
    ca_only = [{"key": "ca.crt", "path": "ca.crt"}]
    job = next(j for j in run.k8s("Job") if j["metadata"]["name"].startswith("orders-bootstrap-"))
    assert volume(job)["secret"]["items"] == ca_only
    assert "REDIS_KEY_FILE" not in env(containers(job)["bootstrap"])
    assert volume(one(run, "Deployment", "cache-haproxy"))["secret"]["items"] == ca_only
    for cj in ("orders-backup", "orders-failover-drill", "cache-backup", "cache-failover-drill"):
        assert volume(one(run, "CronJob", cj))["secret"]["items"] == ca_only, cj
    # The restore's temporary server MIGRATEs over TLS: it needs the key.
    restore = one(run, "CronJob", "orders-restore")
    assert "items" not in volume(restore)["secret"]
    assert env(containers(restore)["restore"])["REDIS_KEY_FILE"] == KEY_FILE
    # The aws-cli containers never hold the Redis password, so no certificate either.
    assert "REDIS_TLS" not in env(containers(restore)["download"])


def test_exporter_scrapes_over_tls(run):
    exporter = containers(one(run, "StatefulSet", "orders"))["exporter"]
    assert env(exporter)["REDIS_ADDR"] == "rediss://localhost:6379"
    assert exporter["args"] == [f"--tls-ca-cert-file={CA_FILE}"]
    # Its own volume with the CA alone: the key stays with redis.
    sts = one(run, "StatefulSet", "orders")
    # Its other mount is its ACL user's password file, nothing of the certificate.
    assert [m for m in exporter["volumeMounts"] if m["name"] != "exporter-auth"] == \
        [{"name": "tls-ca", "mountPath": "/tls", "readOnly": True}]
    # The password file is keyed by the address it scrapes, rediss:// with TLS.
    [auth] = [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "exporter-auth"]
    assert auth["secret"]["secretName"] == "orders-acl-exporter"
    assert volume(sts, "tls-ca")["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    plain = containers(one(run, "StatefulSet", "plain"))["exporter"]
    assert env(plain)["REDIS_ADDR"] == "redis://127.0.0.1:6379" and "args" not in plain


def test_rendered_configs_speak_tls_only(run):
    data = one(run, "ConfigMap", "orders-config")["data"]
    conf = data["redis.conf"].splitlines()
    assert "port 0" in conf and "tls-port 6379" in conf and "tls-cluster yes" in conf and "tls-replication yes" in conf
    assert f"tls-cert-file {CERT_FILE}" in conf and "tls-auth-clients no" in conf
    assert "redis-tls-reload.sh" in data
    sentinel = one(run, "ConfigMap", "cache-config")["data"]
    assert "tls-port 26379" in sentinel["sentinel.conf"].splitlines() and "port 0" in sentinel["sentinel.conf"].splitlines()
    assert "tls-cluster yes" not in sentinel["redis.conf"]
    cfg = one(run, "ConfigMap", "cache-haproxy-config")["data"]["haproxy.cfg"]
    assert "tcp-check connect ssl" in cfg and f"check-ssl verify required ca-file {CA_FILE}" in cfg
    # Client traffic passes through: no server line encrypts on HAProxy's behalf.
    assert not [ln for ln in cfg.splitlines() if ln.strip().startswith("server ") and " ssl " in f" {ln} "]
    plain = one(run, "ConfigMap", "plain-config")["data"]
    assert "tls-" not in plain["redis.conf"] and "tls-" not in plain["sentinel.conf"]


def test_outputs_say_tls_and_the_ca_secret(run):
    orders, cache, plain = run.outputs["redis-orders"], run.outputs["redis-cache"], run.outputs["redis-plain"]
    assert orders["tls"] is True and orders["caSecret"] == "orders-tls" and orders["caSecretKey"] == "ca.crt"
    assert cache["tls"] is True and cache["caSecret"] == "cache-tls"
    assert plain["tls"] is False and "caSecret" not in plain
