"""The cluster preStop hook hands a master's slots to its replica with no
acknowledged write lost, on real redis-server pods on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
from redis.crc import key_slot
from redis.exceptions import RedisError

from components.redis.cluster_scripts import PRESTOP_SCRIPT, ClusterTopology
from tests.integration.cluster.harness import AUTH_ENV, ClusterHarness, formed_cluster, masters, missing, replicas_of, slot_set

pytestmark = pytest.mark.integration

TOPO = ClusterTopology("ps", "ps-headless", "rp-test", shards=3, replicas_per_shard=1)
# This module's own addresses, apart from test_cluster.py's pool.
ADDRESSES = [f"127.0.0.{i}" for i in range(250, 256)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with formed_cluster(tmp_path_factory.mktemp("prestop"), TOPO, ADDRESSES) as h:
        yield h


def run_prestop(h: ClusterHarness, ordinal: int) -> subprocess.CompletedProcess:
    env = dict(os.environ) | AUTH_ENV | {"LOCAL_REDIS_HOST": h.addr[ordinal], "PATH": h.path}
    return subprocess.run(["dash", str(h.scripts / PRESTOP_SCRIPT), "20"], env=env,
                          capture_output=True, text=True, timeout=60)


def ordinal_of(h: ClusterHarness, ip: str) -> int:
    return next(i for i, a in h.addr.items() if a == ip)


def test_replica_has_nothing_to_hand_over(cluster):
    h = cluster
    view = h.view(0)
    replica = next(v for v in view.values() if "slave" in v["flags"])
    before = h.roles(0)
    result = run_prestop(h, ordinal_of(h, replica["ip"]))
    assert result.returncode == 0, result.stderr
    assert "not a master" in result.stdout
    assert h.roles(0) == before


def test_master_hands_over_without_losing_a_write(cluster):
    h = cluster
    view = h.view(0)
    master_id, master = next(iter(masters(view).items()))
    (replica,) = replicas_of(view, master_id)
    acked: dict[str, str] = {}
    refused: list[float] = []
    stop = threading.Event()

    def writer() -> None:
        rc = h.cluster_client()
        n = 0
        while not stop.is_set() and n < 200_000:
            key, n = f"ps:{{{n % 64}}}:{n}", n + 1
            try:
                rc.set(key, key)
                acked[key] = key
            except RedisError:
                refused.append(time.monotonic())
                time.sleep(0.01)
        rc.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(1.0)
        started = time.monotonic()
        result = run_prestop(h, ordinal_of(h, master["ip"]))
        took = time.monotonic() - started
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(timeout=30)
    print(f"\nhandover took {took:.2f}s; {len(acked)} writes acknowledged, {len(refused)} refused"
          + (f" over {refused[-1] - refused[0]:.2f}s" if len(refused) > 1 else ""))
    print(result.stdout)
    assert result.returncode == 0, result.stderr
    assert "handover done" in result.stdout
    # Other nodes learn the new roles by gossip: wait until every view agrees.
    h.wait_healthy(list(range(TOPO.node_count)), timeout=30)
    roles = h.roles(0)
    assert roles[master_id][0] == "slave"
    replica_id = next(nid for nid, v in h.view(0).items() if v["ip"] == replica["ip"])
    assert roles[replica_id][0] == "master"
    assert roles[master_id][1] == replica_id
    assert acked and missing(h, acked) == []


def test_master_keeps_its_slots_when_no_replica_has_caught_up(cluster):
    """A replica that is behind (here frozen with SIGSTOP while its master
    takes 3 MB of writes: its bus link still looks connected) gets no
    CLUSTER FAILOVER; the hook waits, bounded, and says why."""
    h = cluster
    view = h.view(0)
    master_id, master = next(iter(masters(view).items()))
    (replica,) = replicas_of(view, master_id)
    m, r = ordinal_of(h, master["ip"]), ordinal_of(h, replica["ip"])
    mine = slot_set(master["slots"])
    key = next(k for k in (f"big:{i}" for i in range(100_000)) if key_slot(k.encode()) in mine)
    os.kill(h.pods[r].pid, signal.SIGSTOP)
    try:
        h.node(m).set(key, "x" * (3 << 20))
        started = time.monotonic()
        env = dict(os.environ) | AUTH_ENV | {"LOCAL_REDIS_HOST": h.addr[m], "PATH": h.path}
        result = subprocess.run(["dash", str(h.scripts / PRESTOP_SCRIPT), "6"], env=env,
                                capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    finally:
        os.kill(h.pods[r].pid, signal.SIGCONT)
    print(result.stdout)
    assert result.returncode == 0, result.stderr
    assert "no replica caught up within 3s" in result.stdout
    assert "CLUSTER FAILOVER" not in result.stdout.replace("no replica caught up", "")
    assert 3 <= took < 10
    assert h.node(m).execute_command("ROLE")[0] == "master"
    h.wait_healthy(list(range(TOPO.node_count)), timeout=60)
    assert h.roles(0)[master_id][0] == "master"
