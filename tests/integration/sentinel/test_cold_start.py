"""Cold starts of a Sentinel master set that must not go back in time.

Real redis-server, redis-sentinel and HAProxy on loopback, started by the
pod scripts on the rendered text (tests/integration/sentinel/harness.py).
The newest data is put on nodes other than pod 0, then every Sentinel and
every data pod restarts at once (a config change, a node pool rotation), or
the data pods start with no Sentinel at all: the master afterwards must be
a node holding the newest data, never pod 0 because it is pod 0, and never
the history most nodes share when a promoted node continued it.
"""

from __future__ import annotations

import time

import pytest
import redis

from components.redis.sentinel_scripts import REDIS_PRESTOP
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import MASTER_SET, WRITE_PORT, MasterSet, Topology, Writer, run_script

pytestmark = pytest.mark.integration


# This module's addresses: 127.0.1.100-129.
SUBNET = "127.0.1"


def _addresses(first: int) -> Topology:
    return Topology(subnet=SUBNET, first=first)


def healthy(ms: MasterSet, master: str) -> bool:
    """Every Sentinel names ``master``, it has two replicas online, and
    HAProxy's write port reaches it."""
    if any(ms.sentinel_master(s) != master for s in ms.topo.sentinels):
        return False
    info = ms.client(master).info("replication")
    online = [info.get(f"slave{i}", {}).get("state") for i in range(2)]
    return info["role"] == "master" and online == ["online", "online"] and ms.via(WRITE_PORT) == master


def sentinels_see_down(ms: MasterSet, ip: str) -> bool:
    """Every Sentinel flags replica ``ip`` subjectively down, so no
    failover picks it."""
    for s in ms.topo.sentinels:
        replicas = ms.client(s, 26379, decode_responses=True).execute_command("SENTINEL", "REPLICAS", MASTER_SET)
        flags = {r["ip"]: r["flags"] for r in (x if isinstance(x, dict) else dict(zip(x[::2], x[1::2])) for x in replicas)}
        if "s_down" not in flags.get(ip, ""):
            return False
    return True


def started_with_keys_everywhere(procs, tmp_path, first: int) -> tuple[MasterSet, redis.Redis]:
    """A healthy set on this module's addresses from ``first``, with keys
    a:0..499 written through HAProxy and on both replicas; and that client."""
    ms = MasterSet(procs, tmp_path, _addresses(first))
    ms.start_all()
    front = ms.client(ms.topo.haproxy, WRITE_PORT)
    front.mset({f"a:{i}": i for i in range(500)})
    assert front.execute_command("WAIT", 2, 5000) == 2
    return ms, front


def stop_at_once(procs) -> None:
    for p in procs:
        p.popen.send_signal(15)
    for p in procs:
        p.stop()


def start_everything(ms: MasterSet, tmp_path, writer: Writer) -> tuple[str, float]:
    """Every Sentinel (with no state: a memory emptyDir, as new pods) and
    every data pod starts; returns the master once the set is fully healthy,
    with that moment, after writes went on through HAProxy."""
    for ip in ms.topo.sentinels:
        (tmp_path / f"sentinel-{ip}" / "work" / "sentinel.conf").unlink()
    ms.start_sentinels()
    for ip in ms.topo.redis:
        ms.start_node(ip)
    ms.wait_sentinels(timeout=60)
    master = ms.sentinel_master(ms.topo.sentinels[0])
    wait_for(lambda: healthy(ms, master), 60, interval=0.25, what="full health after the restart")
    healthy_at = time.monotonic()
    n = len(writer.acked)
    wait_for(lambda: len(writer.acked) > n + 50, 20, what="writes after the restart")
    return master, healthy_at


def test_restart_of_every_sentinel_and_data_pod_keeps_the_newest_data(tmp_path, procs):
    """Must show 1: pod 0 hands over and stays down while writes go on to
    the new master and its replica; then all Sentinels and data pods restart
    at once, pod 0 included: the newest data survives, no acknowledged write
    is lost."""
    ms = MasterSet(procs, tmp_path, _addresses(100))
    ms.start_all()
    old = ms.topo.redis[0]
    writer = Writer(ms)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) > 100, 20, what="writes before the handover")
        # pod 0's preStop then SIGTERM: it records its state and stays down.
        out = run_script(REDIS_PRESTOP, ms.node_env(old), ("20",), timeout=40)
        assert out.returncode == 0, out.stdout + out.stderr
        ms.nodes[old].stop()
        wait_for(lambda: ms.via(WRITE_PORT) in ms.topo.redis[1:], 30, what="writes reach the new master")
        n = len(writer.acked)
        # The newest data: writes pod 0 never saw.
        wait_for(lambda: len(writer.acked) > n + 300, 30, what="writes pod 0 does not have")
        newest = writer.acked[-1]

        restart_at = time.monotonic()
        stop_at_once([*ms.sentinel_procs.values(), *(ms.nodes[ip] for ip in ms.topo.redis[1:])])
        acked_before_restart = len(writer.acked)
        master, healthy_at = start_everything(ms, tmp_path, writer)
        took = healthy_at - restart_at
    finally:
        writer.stop()
    assert master != old, "pod 0 held older data and must not be master"
    assert ms.role(old) == "slave"
    lost = writer.lost_on(ms, master)
    print(f"\nrestart of every Sentinel and data pod: {len(writer.acked)} writes acknowledged "
          f"({acked_before_restart} before the restart), {writer.refused} refused, {len(lost)} acknowledged lost; "
          f"newest write before the restart w:{newest}; full health {took:.1f}s after the restart began; master {master}")
    for ip in ms.topo.redis:
        print(ip, "|", "; ".join(ln.split(" ", 1)[1] for ln in ms.nodes[ip].log.read_text().splitlines()
                                 if "sentinel-redis-start" in ln)[-600:])
    assert lost == [], f"{len(lost)} acknowledged writes lost, first {lost[:5]}"


def test_no_node_promotes_itself_while_a_peer_holds_newer_data(tmp_path, procs):
    """Must show 2: no Sentinel answers at data-pod start. Pod 0 (older
    data) starts first, then pod 1: neither promotes itself while pod 2, not
    up yet, may hold newer data; once every node answers, the one holding
    the newest data becomes master and every key written is there."""
    ms, _ = started_with_keys_everywhere(procs, tmp_path, 110)
    old, n1, n2 = ms.topo.redis
    ms.nodes[old].stop()
    wait_for(lambda: ms.via(WRITE_PORT) in (n1, n2), 30, what="failover away from pod 0")
    newer = {f"b:{i}": i for i in range(500)}
    ms.client(ms.topo.haproxy, WRITE_PORT).mset(newer)
    assert ms.client(ms.topo.haproxy, WRITE_PORT).execute_command("WAIT", 1, 5000) == 1
    for p in [*ms.sentinel_procs.values(), ms.nodes[n1], ms.nodes[n2]]:
        p.stop()

    started = time.monotonic()
    ms.start_node(old)
    ms.start_node(n1)
    # Bounded observation: nobody may become master while pod 2 is silent.
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        assert ms.role(old) == "slave" and ms.role(n1) == "slave", "a node promoted itself while a peer was silent"
        time.sleep(0.2)
    assert "waiting for" in ms.nodes[old].log.read_text()
    ms.start_node(n2)
    wait_for(lambda: sorted(r for r in map(ms.role, ms.topo.redis)) == ["master", "slave", "slave"], 30,
             what="one master chosen")
    master = next(ip for ip in ms.topo.redis if ms.role(ip) == "master")
    took = time.monotonic() - started
    assert master != old
    c = ms.client(master, decode_responses=True)
    missing = [k for k, v in zip(newer, c.mget(list(newer))) if v != str(newer[k])]
    print(f"\ncold start without Sentinels: master {master} after {took:.1f}s; {len(missing)} of {len(newer)} newer keys missing")
    print(ms.nodes[old].tail(12))
    assert missing == []
    wait_for(lambda: all(ms.client(ip).info("replication").get("master_link_status") == "up"
                         for ip in ms.topo.redis if ip != master), 30, what="replicas follow the elected master")
    assert all(ms.client(ip).dbsize() == 1000 for ip in ms.topo.redis)


def test_promoted_node_wins_over_two_nodes_still_on_the_old_history(tmp_path, procs):
    """Pod 1 stops, then pod 0 (master) crashes: pod 2 is promoted and takes
    writes with no replica. Pods 0 and 1 hold the old history (two of
    three), pod 2 alone the new one, promoted from it. On a cold restart of
    everything pod 2 must win: the writes after the failover are on it and
    nowhere else. (Seen in CI: after a handover, a replica's full sync to the
    new master had not finished when every pod restarted, and the history
    two nodes shared won.)"""
    ms, front = started_with_keys_everywhere(procs, tmp_path, 120)
    old, lagging, promoted = ms.topo.redis
    ms.nodes[lagging].stop()
    wait_for(lambda: sentinels_see_down(ms, lagging), 30, what="every Sentinel sees pod 1 down")
    front.mset({f"b:{i}": i for i in range(500)})
    assert front.execute_command("WAIT", 1, 5000) == 1
    time.sleep(1.5)  # three RECORD_INTERVALs: pod 0 records the offset that includes b:*
    ms.nodes[old].kill()
    writer = Writer(ms)
    writer.start()
    try:
        wait_for(lambda: ms.via(WRITE_PORT) == promoted, 30, what="writes reach pod 2")
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 300, 30, what="writes only pod 2 has")
        stop_at_once([*ms.sentinel_procs.values(), ms.nodes[promoted]])
        states = {ip: (tmp_path / ip / "data" / "replication-state").read_text().split() for ip in ms.topo.redis}
        master, _ = start_everything(ms, tmp_path, writer)
    finally:
        writer.stop()
    print(f"\nrecorded states before the restart: {states}; master after it {master}")
    # The premise: pods 0 and 1 on the old history, pod 2 promoted from it.
    assert states[old][0] == states[lagging][0] != states[promoted][0]
    assert states[promoted][2] == states[old][0]
    assert master == promoted
    c = ms.client(master, decode_responses=True)
    before = [f"{p}:{i}" for p in "ab" for i in range(500)]
    missing = [k for k, v in zip(before, c.mget(before)) if v != k.split(":")[1]]
    lost = writer.lost_on(ms, master)
    print(f"{len(writer.acked)} writes acknowledged after the failover, {writer.refused} refused, "
          f"{len(lost)} acknowledged lost; {len(missing)} of {len(before)} earlier keys missing")
    assert missing == []
    assert lost == [], f"{len(lost)} acknowledged writes lost, first {lost[:5]}"
