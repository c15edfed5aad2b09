"""A Sentinel master set with TLS on (issue 17): real redis-server,
redis-sentinel and haproxy on loopback, started by the pod scripts on the
rendered text with the test's certificates. HAProxy passes the clients' TLS
through to Redis and checks the nodes and Sentinels over TLS, verified
against the CA."""

from __future__ import annotations

import time

import pytest
import redis

from components.common.redis_contract import SENTINEL_PORT
from components.common.tls import IssuerRef, TlsArgs, certificate_spec
from components.haproxy.cfg import render_haproxy_cfg
from components.haproxy.frontend import service_names
from tests.integration.procs import port_open, wait_for
from components.redis.sentinel_scripts import REDIS_PRESTOP
from tests.integration.sentinel.harness import WRITE_PORT, MasterSet, Topology, Writer, haproxy_spec, run_script
from tests.integration.tls_certs import TestPki, served_serial

pytestmark = pytest.mark.integration


def tls_topology(block: int) -> Topology:
    """Blocks of 127.0.17.40 - 127.0.17.71: blocks 0 and 1 here, 2 and 3 in tests/integration/ops/test_ops_tls.py."""
    return Topology(block, subnet="127.0.17", first=40)


def pki(folder, topo: Topology) -> TestPki:
    """The names the rendered Certificate of a Sentinel set asks for, plus this
    test's addresses (its pods are reached by address)."""
    spec = certificate_spec(TlsArgs("web-tls", IssuerRef("ca"), extra_service_names=service_names("web")), "rp-test",
                            "cluster.local", ("web-headless", "web-sentinel-headless"), ("web-sentinel",), {})
    return TestPki(folder, spec["dnsNames"] + spec["ipAddresses"] + [*topo.redis, *topo.sentinels, topo.haproxy])


@pytest.fixture
def tls_set(procs, tmp_path):
    topo = tls_topology(0)
    ms = MasterSet(procs, tmp_path, topo, tls=pki(tmp_path / "tls", topo))
    ms.start_all()
    return ms


def test_tls_master_set_fails_over_through_haproxy(tls_set):
    ms = tls_set
    # Through HAProxy the client's TLS ends on Redis: it verifies the node's
    # certificate under the name it dialled (HAProxy's address here).
    w = ms.client(ms.topo.haproxy, WRITE_PORT)
    assert w.set("before", "failover") and w.info("replication")["role"] == "master"
    assert w.execute_command("WAIT", 2, 5000) == 2
    w.close()
    # Nothing speaks plain text: not the nodes, not the Sentinels, not HAProxy's Redis ports.
    for host, port in ((ms.topo.redis[0], 6379), (ms.topo.sentinels[0], SENTINEL_PORT), (ms.topo.haproxy, WRITE_PORT)):
        plain = redis.Redis(host=host, port=port, password=ms.password, socket_timeout=2, socket_connect_timeout=1)
        with pytest.raises(redis.ConnectionError):
            plain.ping()
    assert ms.sentinel_ready(ms.topo.sentinels[0]) and ms.node_ready(ms.topo.redis[1])

    writer = Writer(ms, max_s=60)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) > 50, 10, what="writes through HAProxy over TLS")
        killed_at = time.monotonic()
        ms.nodes[ms.topo.redis[0]].kill()
        wait_for(lambda: ms.via(WRITE_PORT) in ms.topo.redis[1:], 30, what="HAProxy sends writes to the promoted replica")
        took = time.monotonic() - killed_at
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 50, 10, what="writes resume over TLS")
    finally:
        writer.stop()
    new_master = ms.via(WRITE_PORT)
    print(f"\nTLS Sentinel failover: writes through HAProxy reach {new_master} {took:.1f}s after the kill; "
          f"{len(writer.acked)} acknowledged, {writer.refused} refused")
    assert ms.role(new_master) == "master"
    assert all(ms.sentinel_master(s) == new_master for s in ms.topo.sentinels)
    assert ms.client(new_master).get("before") == b"failover"


def test_prestop_hands_the_master_over_with_no_acknowledged_write_lost(tls_set):
    """The data pods' preStop script asks the Sentinels (over TLS) for the
    handover while writes go through HAProxy."""
    ms = tls_set
    old = ms.topo.redis[0]
    writer = Writer(ms, max_s=60)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) > 50, 10, what="writes before the handover")
        out = run_script(REDIS_PRESTOP, ms.node_env(old), ("20",), timeout=40)
        assert out.returncode == 0, out.stdout + out.stderr
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 50, 15, what="writes resume on the new master")
    finally:
        writer.stop()
    new_master = ms.via(WRITE_PORT)
    assert new_master in ms.topo.redis[1:] and ms.role(old) == "slave"
    assert writer.lost_on(ms, new_master) == []


def test_haproxy_checks_refuse_servers_signed_by_another_ca(tls_set, procs, tmp_path):
    """The same set behind a second HAProxy given the wrong CA: its checks
    fail verification, no node qualifies, and a client is refused."""
    ms = tls_set
    other = TestPki(tmp_path / "other-ca", ["localhost"], cn="some-other-ca")
    topo = tls_topology(1)
    cfg = tmp_path / "haproxy-wrong-ca.cfg"
    cfg.write_text(render_haproxy_cfg(haproxy_spec(ms.topo, str(other.ca))).replace(ms.topo.haproxy, topo.haproxy))
    proc = procs.start(["haproxy", "-db", "-f", str(cfg)], tmp_path / "haproxy-wrong-ca.log",
                       env={"REDIS_PASSWORD": ms.passwords["haproxy"]})
    wait_for(lambda: port_open(topo.haproxy, WRITE_PORT), 10, what="second haproxy")
    time.sleep(4)  # past its warm-up and a few check rounds
    c = ms.client(topo.haproxy, WRITE_PORT)
    with pytest.raises(redis.ConnectionError):
        c.ping()
    log = proc.log.read_text(errors="replace")
    assert "SSL handshake failure" in log or "Layer6" in log, log[-2000:]
    # The right CA still works through the first one.
    assert ms.via(WRITE_PORT) == ms.topo.redis[0]


def test_renewed_certificate_nodes_reload_sentinels_restart_one_at_a_time(tls_set):
    ms = tls_set
    old = ms.tls.serial
    new = ms.tls.rotate()
    assert new != old
    node_pids = {ip: p.pid for ip, p in ms.nodes.items()}
    # Data nodes: CONFIG SET from the reload loop, same process.
    wait_for(lambda: all(served_serial(ip, 6379, ms.tls.ca) == new for ip in ms.topo.redis), 20, interval=0.5,
             what="every data node serving the renewed certificate")
    assert {ip: p.pid for ip, p in ms.nodes.items()} == node_pids and all(p.alive() for p in ms.nodes.values())
    # Sentinels: stopped by their loop, ordinal x 3 s apart; here no kubelet
    # starts them again, so the test does, as soon as each one exits.
    exits: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while len(exits) < len(ms.topo.sentinels) and time.monotonic() < deadline:
        for ip in ms.topo.sentinels:
            if ip not in exits and not ms.sentinel_procs[ip].alive():
                exits[ip] = time.monotonic()
                ms.start_sentinel(ip)
        time.sleep(0.1)
    assert len(exits) == len(ms.topo.sentinels), f"sentinels that restarted: {sorted(exits)}"
    order = sorted(exits, key=exits.get)
    assert order == list(ms.topo.sentinels), "the Sentinels restart in ordinal order"
    gaps = [exits[b] - exits[a] for a, b in zip(order, order[1:])]
    print(f"\nSentinel restarts {gaps} s apart")
    assert all(g > 1.5 for g in gaps), "never two Sentinels away at once"
    ms.wait_sentinels()
    wait_for(lambda: all(served_serial(ip, SENTINEL_PORT, ms.tls.ca) == new for ip in ms.topo.sentinels), 20,
             what="every Sentinel serving the renewed certificate")
    wait_for(lambda: all(ms.sentinel_master(s) == ms.topo.redis[0] for s in ms.topo.sentinels), 20,
             what="the Sentinels agree on the master again")
    assert "certificate files changed; this process cannot reload them" in (ms.root / f"sentinel-{order[0]}" / "log").read_text()
