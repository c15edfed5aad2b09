"""The exporter sidecar scrapes a TLS-only redis-server (issue 17): the real
redis_exporter run with the rendered container's env and args (rediss:// to
localhost, the CA file), against redis-server with the rendered TLS text and
a certificate made by the test for the names the Certificate asks for."""

from __future__ import annotations

import urllib.request

import pytest

from components.common.tls import CA_FILE, IssuerRef, TlsArgs, TlsFiles, certificate_spec
from components.redis.conf import RedisConfSpec, render_redis_conf
from components.redis.pod import exporter_container
from tests.integration.procs import ProcGroup, port_open, require, wait_for
from tests.integration.tls_certs import TestPki

pytestmark = pytest.mark.integration

# Redis listens on 127.0.0.1 (the exporter dials "localhost", as in the pod)
# on a port of its own, so this test cannot meet another suite's 6379.
REDIS_PORT = 16417
EXPORTER_IP = "127.0.17.75"
PASSWORD = "exporter-tls-Pw"


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://{EXPORTER_IP}:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def start_exporter(procs: ProcGroup, tmp, pki: TestPki, port: int):
    """The rendered container, with only the pod's paths and port mapped to the test's."""
    c = exporter_container("oliver006/redis_exporter:test", "web-auth", tls=True)
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    assert env["REDIS_ADDR"] == "rediss://localhost:6379"
    env["REDIS_ADDR"] = env["REDIS_ADDR"].replace(":6379", f":{REDIS_PORT}")
    env["REDIS_PASSWORD"] = PASSWORD  # from the Secret in the pod
    args = [a.replace(CA_FILE, str(pki.ca)) for a in c["args"]]
    proc = procs.start([require("prometheus-redis-exporter"), *args, f"--web.listen-address={EXPORTER_IP}:{port}"],
                       tmp / f"exporter-{port}.log", env=env)
    wait_for(lambda: port_open(EXPORTER_IP, port), 10, what="redis exporter")
    return proc


def test_exporter_scrapes_over_tls_and_refuses_an_unknown_ca(procs, tmp_path):
    spec = certificate_spec(TlsArgs("web-tls", IssuerRef("ca")), "rp-test", "cluster.local", ("web-headless",), ("web",), {})
    pki = TestPki(tmp_path / "tls", spec["dnsNames"] + spec["ipAddresses"])
    conf = render_redis_conf(RedisConfSpec(maxmemory_bytes=64 << 20, bind="127.0.0.1", port=REDIS_PORT,
                                           data_dir=str(tmp_path), include=None, appendonly=False, save_rules=(),
                                           tls=TlsFiles(str(pki.cert), str(pki.key), str(pki.ca)),
                                           extra={"requirepass": PASSWORD}))
    (tmp_path / "redis.conf").write_text(conf)
    procs.start([require("redis-server"), str(tmp_path / "redis.conf")], tmp_path / "redis.log")
    wait_for(lambda: port_open("127.0.0.1", REDIS_PORT), 10, what="redis over TLS")

    start_exporter(procs, tmp_path, pki, 9121)
    wait_for(lambda: "\nredis_up 1\n" in metrics(9121), 15, what="redis_up 1 over TLS")
    text = metrics(9121)
    assert "\nredis_connected_clients " in text and "redis_instance_info{" in text

    # An exporter that trusts another CA gets no answer: redis_up 0.
    other = TestPki(tmp_path / "other-ca", ["localhost", "127.0.0.1"], cn="some-other-ca")
    start_exporter(procs, tmp_path, other, 9122)
    wait_for(lambda: "\nredis_up 0\n" in metrics(9122), 15, what="redis_up 0 with the wrong CA")
    assert "Couldn't connect to redis instance" in (tmp_path / "exporter-9122.log").read_text()
