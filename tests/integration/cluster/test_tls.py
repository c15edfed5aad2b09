"""A Redis Cluster with TLS on (issue 17): real redis-server pods started by
cluster-start.sh with the rendered TLS directives, formed by the bootstrap
script over TLS, a master lost and its pod back with an empty volume
(failover, cluster-repair.sh over TLS), a graceful handover by the preStop
script, and a renewed certificate reloaded without a restart. Certificates
are made by the test (tests/integration/tls_certs.py) for the names the
rendered Certificate asks for."""

from __future__ import annotations

import shutil
import socket
import ssl
import time

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError

from components.common.redis_contract import CLUSTER_BUS_PORT, REDIS_PORT
from components.common.tls import IssuerRef, TlsArgs, certificate_spec
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import PASSWORD, ClusterHarness, ClusterWriter, formed_cluster, masters, missing, replicas_of, write
from tests.integration.procs import wait_for
from tests.integration.tls_certs import TestPki, served_serial

pytestmark = pytest.mark.integration

TOPO = ClusterTopology("tls", "tls-headless", "rp-test", shards=3, replicas_per_shard=1)
# This module's addresses: 127.0.17.10 - 127.0.17.29.
ADDRESSES = [f"127.0.17.{i}" for i in range(10, 30)]


def certificate_names() -> list[str]:
    """The rendered Certificate's names, plus this suite's loopback addresses
    (pods here are reached by address; in Kubernetes by the wildcard name)."""
    spec = certificate_spec(TlsArgs("tls-tls", IssuerRef("ca")), TOPO.namespace, TOPO.cluster_domain,
                            (TOPO.headless_service,), ("tls",), {})
    return spec["dnsNames"] + spec["ipAddresses"] + ADDRESSES


@pytest.fixture
def cluster(tmp_path):
    pki = TestPki(tmp_path / "tls", certificate_names())
    with formed_cluster(tmp_path, TOPO, ADDRESSES, tls=pki) as h:
        yield h


def test_plain_and_unverified_clients_are_refused(cluster, tmp_path):
    h = cluster
    ip = h.addr[0]
    # Nothing answers in plain text: the client port and the bus speak TLS only.
    plain = redis.Redis(host=ip, port=REDIS_PORT, password=PASSWORD, socket_timeout=2, socket_connect_timeout=1)
    with pytest.raises(RedisConnectionError):
        plain.ping()
    # A client that does not trust the deployment's CA refuses the server.
    other = TestPki(tmp_path / "other-ca", ["localhost"], cn="some-other-ca")
    stranger = redis.Redis(host=ip, port=REDIS_PORT, password=PASSWORD, socket_timeout=2, socket_connect_timeout=1,
                           ssl=True, ssl_ca_certs=str(other.ca), ssl_check_hostname=False)
    with pytest.raises(RedisConnectionError, match="(?i)certificate verify failed"):
        stranger.ping()
    for port in (REDIS_PORT, CLUSTER_BUS_PORT):
        assert served_serial(ip, port, h.tls.ca) == h.tls.serial
        with socket.create_connection((ip, port), timeout=2) as sock:
            ctx = ssl.create_default_context(cafile=str(other.ca))
            with pytest.raises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(sock, server_hostname=ip)
    # The probes (rendered commands, TLS from the env) pass on every pod.
    assert all(h.ready(i) for i in range(TOPO.node_count))


def test_tls_cluster_fails_over_and_heals_a_wiped_master(cluster):
    h = cluster
    everyone = list(range(TOPO.node_count))
    ip_of = {h.addr[i]: i for i in everyone}
    victim_id, victim = next((nid, v) for nid, v in h.view(0).items() if "master" in v["flags"])
    victim_ord = ip_of[victim["ip"]]
    watcher = 0 if victim_ord else 1
    # Writes every replica has acknowledged (WAIT) must survive the loss; the
    # writer's last ones before the loss may not (replication is asynchronous).
    replicated = {f"pre:{{{i}}}:{i}": str(i) for i in range(300)}
    write(h, replicated)
    for i in everyone:
        if "master" in h.view(i)[h.node(i).execute_command("CLUSTER", "MYID")]["flags"]:
            assert h.node(i).execute_command("WAIT", 1, 5000) == 1
    writer = ClusterWriter(h, "tls", 120)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) > 300, 20, what="writes over TLS before the loss")
        lost_at = time.monotonic()
        h.stop([victim_ord])
        wait_for(lambda: len(masters(h.view(watcher))) == 3 and victim_id not in masters(h.view(watcher)),
                 30, interval=0.25, what="the cluster fails over the lost master over the TLS bus")
        failed_over = time.monotonic() - lost_at
        data = h.root / f"pod-{victim_ord}" / "data"
        shutil.rmtree(data)
        data.mkdir()
        h.start(victim_ord)
        h.wait_healthy(everyone, timeout=45)
        healed = time.monotonic() - lost_at
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 200, 20, what="writes after the repair")
    finally:
        writer.stop()
    print(f"\nTLS: failover {failed_over:.1f}s, healthy again {healed:.1f}s after the loss; "
          f"{len(writer.acked)} writes acknowledged, {writer.refused} refused")
    view = h.view(0)
    assert victim_id not in view
    assert len(masters(view)) == 3 and all(len(replicas_of(view, m)) == 1 for m in masters(view))
    assert "repaired: this node is a replica" in h.log(victim_ord)
    # Replication runs over TLS (there is no plain port): the repaired node syncs.
    wait_for(lambda: h.node(victim_ord).info("replication")["master_link_status"] == "up", 20,
             what="the repaired replica's link up")
    assert h.node(victim_ord).info("replication")["role"] == "slave"
    assert missing(h, replicated) == []
    print(f"writer's acknowledged writes lost with the stopped master: {len(missing(h, writer.acked))}")


def test_prestop_hands_over_and_a_renewed_certificate_is_reloaded_without_restart(cluster):
    h = cluster
    everyone = list(range(TOPO.node_count))
    ip_of = {h.addr[i]: i for i in everyone}
    master_ord = ip_of[next(v for v in h.view(0).values() if "master" in v["flags"])["ip"]]
    result = h.prestop(master_ord)
    print(result.stdout)
    assert result.returncode == 0 and "handover done" in result.stdout
    assert h.node(master_ord).info("replication")["role"] == "slave"

    pids = {i: h.pods[i].pid for i in everyone}
    old = h.tls.serial
    new = h.tls.rotate()
    assert new != old
    # The reload loop (1 s interval here) sets the same paths again; every
    # node then serves the new leaf on its client port and its bus.
    wait_for(lambda: all(served_serial(h.addr[i], p, h.tls.ca) == new
                         for i in everyone for p in (REDIS_PORT, CLUSTER_BUS_PORT)),
             20, interval=0.5, what="every node serving the renewed certificate")
    assert {i: h.pods[i].pid for i in everyone} == pids and all(h.pods[i].alive() for i in everyone)
    assert all("reloaded into redis (CONFIG SET), no restart" in h.log(i) for i in everyone)
    h.wait_healthy(everyone, timeout=20)
