"""Sentinel master set behind HAProxy: real redis-server, redis-sentinel and
haproxy on loopback, started by the pod scripts on the rendered text."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.request

import pytest
import redis

from components.redis.sentinel_scripts import REDIS_PRESTOP
from tests.integration.procs import require, wait_for
from tests.integration.sentinel.harness import (
    READ_PORT,
    STATS_PORT,
    WRITE_PORT,
    MasterSet,
    Topology,
    run_script,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def start_set(procs, tmp_path):
    """Starts a master set on address block ``n`` (one block per test, see harness)."""

    def start(block: int) -> MasterSet:
        ms = MasterSet(procs, tmp_path, Topology(block))
        ms.start_all()
        return ms

    return start


def test_haproxy_accepts_generated_config(tmp_path, procs):
    haproxy = require("haproxy")
    ms = MasterSet(procs, tmp_path, Topology(0))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(ms.haproxy_cfg)
    out = subprocess.run(
        [haproxy, "-c", "-f", str(cfg)], env={**os.environ, "REDIS_PASSWORD": ms.passwords["haproxy"]}, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Configuration file is valid" in out.stdout + out.stderr
    assert "WARNING" not in out.stdout + out.stderr
    assert not any(p in ms.haproxy_cfg for p in ms.passwords.values())
    # The checks log in as the haproxy ACL user, its password from the environment.
    assert 'tcp-check send "AUTH haproxy ${REDIS_PASSWORD}\\r\\n"' in ms.haproxy_cfg


def test_writes_reach_master_and_reads_reach_replica(start_set):
    ms = start_set(0)
    w = ms.client(ms.topo.haproxy, WRITE_PORT)
    assert w.set("greeting", "hello")
    assert w.get("greeting") == b"hello"
    assert w.info("replication")["role"] == "master"
    assert ms.via(WRITE_PORT) == ms.topo.redis[0]

    wait_for(lambda: ms.via(READ_PORT) in ms.topo.redis[1:], 20, what="read port reaches a replica")
    r = ms.client(ms.topo.haproxy, READ_PORT)
    assert r.info("replication")["role"] == "slave"
    wait_for(lambda: r.get("greeting") == b"hello", 5, what="replicated read")
    with pytest.raises(redis.ReadOnlyError):
        r.set("greeting", "through the read port")

    # Secrets reach the processes only at start, never through rendered text.
    for ip in ms.topo.sentinels:
        rendered = ms.sentinel_conf(ip)
        assert not any(p in rendered for p in ms.passwords.values())
        # The Sentinel's own login to the nodes and its peers is in its
        # in-memory working copy only.
        work = (ms.root / f"sentinel-{ip}" / "work" / "sentinel.conf").read_text()
        assert ms.passwords["sentinel"] in work


def _writer(ms: MasterSet, stop: threading.Event, acked: list[int], errors: list[float], max_s: float = 60) -> None:
    """Writes k<i> through HAProxy's write port, one key per write, until ``stop``.

    ``acked`` gets i for each acknowledged write, ``errors`` the time of each failed one.
    """
    c = ms.client(ms.topo.haproxy, WRITE_PORT)
    i = 0
    deadline = time.monotonic() + max_s
    while not stop.is_set() and time.monotonic() < deadline:
        i += 1
        try:
            c.set(f"k{i}", i)
            acked.append(i)
        except redis.RedisError:
            errors.append(time.monotonic())
            c.close()
            c = ms.client(ms.topo.haproxy, WRITE_PORT)
            time.sleep(0.05)
        time.sleep(0.005)
    c.close()


def _outage(errors: list[float]) -> float:
    return (max(errors) - min(errors)) if errors else 0.0


def test_sigkilled_master_is_replaced_and_haproxy_follows(start_set):
    ms = start_set(1)
    stop, acked, errors = threading.Event(), [], []
    t = threading.Thread(target=_writer, args=(ms, stop, acked, errors))
    t.start()
    try:
        wait_for(lambda: len(acked) > 20, 10, what="writes before the kill")
        killed_at = time.monotonic()
        ms.nodes[ms.topo.redis[0]].kill()
        wait_for(lambda: ms.via(WRITE_PORT) in ms.topo.redis[1:], 30, what="writes reach a promoted replica")
        n = len(acked)
        wait_for(lambda: len(acked) > n + 20, 10, what="writes resume")
    finally:
        stop.set()
        t.join(timeout=10)
    new_master = ms.via(WRITE_PORT)
    assert ms.role(new_master) == "master"
    assert all(ms.sentinel_master(s) == new_master for s in ms.topo.sentinels)
    failed = [e for e in errors if e >= killed_at]
    assert failed, "writes must fail while no master exists"
    print(f"\nSIGKILL failover: writes through HAProxy failed for {max(failed) - killed_at:.2f}s "
          f"({len(failed)} failed attempts); new master {new_master}")


def test_restarted_old_master_gets_no_writes_and_rejoins_as_replica(start_set):
    ms = start_set(2)
    old = ms.topo.redis[0]
    w = ms.client(ms.topo.haproxy, WRITE_PORT)
    w.set("before", "kill")
    assert w.execute_command("WAIT", 2, 5000) == 2  # replication is asynchronous
    ms.nodes[old].kill()
    wait_for(lambda: ms.via(WRITE_PORT) in ms.topo.redis[1:], 30, what="failover")
    new_master = ms.via(WRITE_PORT)

    # Its old runtime include has no replicaof: it comes back saying role:master.
    ms.restart_node_raw(old)
    assert ms.role(old) == "master"
    # A fresh HAProxy too: every server starts "UP" before its first check.
    ms.haproxy.stop()
    ms.start_haproxy()

    seen, while_master = [], 0
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        old_role = ms.role(old)
        seen.append(ms.via(WRITE_PORT))
        while_master += old_role == "master"
        info = ms.client(old).info("replication") if old_role == "slave" else {}
        master = info.get("master_host")
        if master and info.get("master_link_status") == "up" and ms.role(master) == "master":
            break
        time.sleep(0.1)
    assert old not in seen, "HAProxy sent a write connection to the restarted old master"
    assert while_master > 10, "the old master must have said role:master for a while"
    # The Sentinels may fail over a second time: a leader that keeps the other
    # Sentinels' "down" votes from the failover it just ran needs only its own
    # missed PING (down-after 1 s here, on a loaded machine) to start another.
    # The old master must follow whichever node is master now.
    current = _settled_master(ms)

    def follows_current():
        info = ms.client(old).info("replication")
        return info["role"] == "slave" and info["master_host"] == current and info["master_link_status"] == "up"

    wait_for(follows_current, 30, what=f"the old master to replicate from {current}")
    assert ms.client(old).get("before") == b"kill"
    print(f"\nrestarted old master said role:master for {while_master} samples; "
          f"write port reached only {sorted({s for s in seen if s})}; "
          f"master {new_master} after the failover, {current} at the end")


def _settled_master(ms) -> str:
    """The master every Sentinel names, that says role:master and that HAProxy's
    write port reaches, once all three agree (bounded)."""

    found = []

    def agreed():
        named = {ms.sentinel_master(s) for s in ms.topo.sentinels}
        (m,) = named if len(named) == 1 else (None,)
        if m and ms.role(m) == "master" and ms.via(WRITE_PORT) == m:
            found.append(m)
        return bool(found)

    wait_for(agreed, 30, what="Sentinels, the master and HAProxy agree")
    return found[0]


def test_graceful_handover_loses_no_acknowledged_write(start_set):
    ms = start_set(3)
    old = ms.topo.redis[0]
    stop, acked, errors = threading.Event(), [], []
    t = threading.Thread(target=_writer, args=(ms, stop, acked, errors))
    t.start()
    try:
        wait_for(lambda: len(acked) > 50, 10, what="writes before the handover")
        started = time.monotonic()
        out = run_script(REDIS_PRESTOP, ms.node_env(old), ("20",), timeout=40)
        took = time.monotonic() - started
        assert out.returncode == 0, out.stdout + out.stderr
        n = len(acked)
        wait_for(lambda: len(acked) > n + 50, 15, what="writes resume on the new master")
    finally:
        stop.set()
        t.join(timeout=10)
    new_master = ms.via(WRITE_PORT)
    assert new_master in ms.topo.redis[1:]
    assert ms.role(old) == "slave"
    c = ms.client(new_master)
    pipe = c.pipeline(transaction=False)
    for i in acked:
        pipe.get(f"k{i}")
    values = pipe.execute()
    lost = [i for i, v in zip(acked, values) if v != str(i).encode()]
    assert not lost, f"{len(lost)} acknowledged writes lost, first {lost[:5]}"
    print(f"\ngraceful handover: preStop took {took:.2f}s, writes failed for {_outage(errors):.2f}s "
          f"({len(errors)} failed attempts), {len(acked)} acknowledged writes all on {new_master}")
    print(out.stderr.strip())


def test_prometheus_endpoint_shows_backend_state(start_set):
    ms = start_set(4)
    base = f"http://{ms.topo.haproxy}:{STATS_PORT}"
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
        assert resp.status == 200
        metrics = resp.read().decode()
    assert 'haproxy_backend_status{proxy="redis_master_0"' in metrics
    lines = [ln for ln in metrics.splitlines() if ln.startswith("haproxy_server_status{")]
    assert any('proxy="redis_master_0",server="redis-0",state="UP"} 1' in ln for ln in lines), lines
    assert any('proxy="redis_master_1",server="redis-1",state="DOWN"} 1' in ln for ln in lines), lines
    assert any('proxy="sentinels_name_0",server="sentinel-0",state="UP"} 1' in ln for ln in lines), lines
    with urllib.request.urlopen(f"{base}/stats", timeout=5) as resp:
        assert resp.status == 200
        assert "redis_master_0" in resp.read().decode()
