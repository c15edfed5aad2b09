"""Redis Cluster pods on loopback: bootstrap, data, scale-out, failover, new addresses.

The tests run in file order on one cluster (a module fixture); each asserts
its own step. Measured figures are printed: run with -s to see them.
"""

from __future__ import annotations

import stat
import time

import pytest
import redis
from redis.crc import key_slot
from redis.exceptions import RedisError

from components.redis.cluster_scripts import ClusterTopology
from components.redis.conf import RedisConfSpec, render_redis_conf
from tests.integration.cluster.harness import (
    MAXMEMORY,
    ClusterHarness,
    masters,
    missing,
    replicas_of,
    slot_set,
    write,
)
from tests.integration.procs import ProcGroup, port_open, wait_for

pytestmark = pytest.mark.integration

TOPO3 = ClusterTopology("rc", "rc-headless", "rp-test", shards=3, replicas_per_shard=1)
TOPO4 = ClusterTopology("rc", "rc-headless", "rp-test", shards=4, replicas_per_shard=1)
TOPO4R2 = ClusterTopology("rc", "rc-headless", "rp-test", shards=4, replicas_per_shard=2)
SEED_KEYS = 10_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    group = ProcGroup()
    harness = ClusterHarness(tmp_path_factory.mktemp("redis-cluster"), group, TOPO3)
    harness.expected = {}
    try:
        yield harness
    finally:
        group.stop_all()


def pods(h: ClusterHarness) -> list[int]:
    return sorted(h.pods)


def ordinal_of(h: ClusterHarness, node_id: str) -> int:
    return next(i for i, nid in h.ids.items() if nid == node_id)


def test_bootstrap_creates_three_masters_with_one_replica_each(cluster):
    h = cluster
    for i in range(6):
        h.start(i, wait=False)
    for i in range(6):
        h.wait_up(i)
    result = h.bootstrap(TOPO3)
    assert result.returncode == 0, result.stderr
    assert "creating 3 shards" in result.stdout
    print(f"cluster healthy {h.wait_healthy(pods(h), 30):.1f}s after the bootstrap returned")
    h.ids = {i: h.node(i).execute_command("CLUSTER", "MYID") for i in pods(h)}

    info = h.cluster_info(0)
    assert info["cluster_state"] == "ok" and info["cluster_slots_assigned"] == "16384"
    view = h.view(0)
    assert len(masters(view)) == 3
    for mid, m in masters(view).items():
        reps = replicas_of(view, mid)
        assert len(reps) == 1, f"master {m['hostname']} has {len(reps)} replicas"
        assert reps[0]["hostname"] != m["hostname"] and reps[0]["ip"] != m["ip"]
    # Every pod announces its stable DNS name, which clients are redirected to.
    assert sorted(v["hostname"] for v in view.values()) == sorted(h.hostname(i) for i in range(6))
    runtime = h.runtime_conf(0)
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
    assert f"cluster-announce-hostname {h.hostname(0)}" in runtime.read_text()


def test_seed_data_load_through_cluster_client(cluster):
    h = cluster
    items = {f"user:{i}": f"data_{i}" for i in range(SEED_KEYS)}
    started = time.monotonic()
    write(h, items)
    assert missing(h, items) == []
    print(f"wrote and read back {SEED_KEYS} keys in {time.monotonic() - started:.2f}s")
    h.expected.update(items)
    per_master = {m["hostname"]: h.node(ordinal_of(h, mid)).dbsize() for mid, m in masters(h.view(0)).items()}
    print(f"keys per master: {per_master}")
    assert all(n > 0 for n in per_master.values())


def test_bootstrap_again_changes_nothing(cluster):
    h = cluster
    before = {nid: (sorted(v["flags"]), v["master"], v["slots"]) for nid, v in h.view(0).items()}
    result = h.bootstrap(TOPO3)
    assert result.returncode == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert "adding" not in result.stdout and "rebalance" not in result.stdout
    after = {nid: (sorted(v["flags"]), v["master"], v["slots"]) for nid, v in h.view(0).items()}
    assert after == before
    assert {i: h.node(i).execute_command("CLUSTER", "MYID") for i in pods(h)} == h.ids


def test_scale_out_to_four_shards(cluster):
    h = cluster
    for i in (6, 7):
        h.start(i)
    result = h.bootstrap(TOPO4)
    assert result.returncode == 0, result.stderr
    assert f"adding {h.hostname(6)} as a new master" in result.stdout
    assert f"adding {h.hostname(7)} as a replica" in result.stdout
    h.wait_healthy(pods(h), 30)
    h.ids.update({i: h.node(i).execute_command("CLUSTER", "MYID") for i in (6, 7)})
    view = h.view(0)
    ms = masters(view)
    assert len(ms) == 4
    assert h.ids[6] in ms, "the first new pod should be the new master"
    print("slots per master: " + ", ".join(f"{m['hostname'].split('.')[0]}={len(slot_set(m['slots']))}" for m in ms.values()))
    assert len(slot_set(ms[h.ids[6]]["slots"])) >= 16384 // 4 - 200
    assert view[h.ids[7]]["master"] == h.ids[6], "the new replica goes to the master with fewest replicas"
    for mid in ms:
        assert len(replicas_of(view, mid)) == 1
    assert missing(h, h.expected) == []
    assert h.node(6).dbsize() > 0


def test_second_replica_per_shard_after_an_interrupted_run(cluster):
    h = cluster
    new = [8, 9, 10, 11]
    for i in new:
        h.start(i)
    h.ids.update({i: h.node(i).execute_command("CLUSTER", "MYID") for i in new})
    # An earlier Job run died after joining rc-9 but before making it a
    # replica: it sits in the cluster as a master without slots.
    h.node(9).execute_command("CLUSTER", "MEET", h.addr[0], 6379)
    wait_for(lambda: "handshake" not in h.view(0).get(h.ids[9], {"flags": {"handshake"}})["flags"], 10, what="rc-9 met")
    slots_before = {mid: m["slots"] for mid, m in masters(h.view(0)).items()}
    result = h.bootstrap(TOPO4R2)
    assert result.returncode == 0, result.stderr
    assert f"making {h.hostname(9)} (an empty master) a replica" in result.stdout
    assert "rebalance" not in result.stdout
    h.wait_healthy(pods(h), 30)
    view = h.view(0)
    assert {mid: m["slots"] for mid, m in masters(view).items()} == slots_before
    for mid in slots_before:
        assert len(replicas_of(view, mid)) == 2
    assert missing(h, h.expected) == []


def test_sigkill_master_replica_takes_over(cluster):
    h = cluster
    view = h.view(0)
    victim_id = next(mid for mid in masters(view) if mid != h.ids[6])
    victim = ordinal_of(h, victim_id)
    heirs = [ordinal_of(h, nid) for nid, v in view.items() if v["master"] == victim_id]
    slots = slot_set(view[victim_id]["slots"])
    keys = (k for k in (f"fo:{n}" for n in range(10**6)) if key_slot(k.encode()) in slots)
    rc = h.cluster_client()
    acked: dict[str, float] = {}
    failures, kill_at, last_ack, first_ack_after = 0, None, 0.0, None
    started = time.monotonic()
    try:
        while time.monotonic() - started < 60:
            now = time.monotonic()
            if kill_at is None and now - started > 1.5:
                h.pods[victim].kill()
                kill_at = time.monotonic()
            key = next(keys)
            try:
                rc.set(key, key)
            except RedisError:
                failures += 1
                time.sleep(0.05)
                continue
            acked[key] = time.monotonic()
            if kill_at is None:
                last_ack = acked[key]
            elif first_ack_after is None:
                first_ack_after = acked[key]
            elif acked[key] - first_ack_after > 0.5:
                break
    finally:
        rc.close()
    assert kill_at is not None and first_ack_after is not None, "writes never recovered after the kill"
    print(f"writes to the killed master's {len(slots)} slots stopped for {first_ack_after - last_ack:.2f}s "
          f"({failures} failed attempts); {len(acked)} writes acknowledged")
    def promoted() -> list[int]:
        return [i for i in heirs if "master" in h.view(i)[h.ids[i]]["flags"]]

    wait_for(lambda: len(promoted()) == 1 and h.cluster_info(promoted()[0])["cluster_state"] == "ok", 30,
             what="one replica promoted and the cluster ok")
    heir = promoted()[0]
    assert slot_set(h.view(heir)[h.ids[heir]]["slots"]) == slots
    lost = missing(h, {k: k for k in acked})
    old_lost = [k for k in lost if acked[k] < kill_at - 1]
    print(f"keys lost: {len(lost)} in total, {len(old_lost)} acknowledged more than 1s before the kill")
    assert old_lost == []
    assert missing(h, h.expected) == []
    h.expected.update({k: k for k in acked if k not in lost})
    # The old master comes back through the start script and rejoins as a replica.
    h.start(victim)
    h.wait_healthy(pods(h), 30)
    roles = h.roles(0)
    for i in [victim, *heirs]:
        if i != heir:
            assert roles[h.ids[i]] == ("slave", h.ids[heir])


def test_new_addresses_one_pod_then_all(cluster):
    h = cluster
    roles = h.roles(0)
    moved = ordinal_of(h, next(iter(masters(h.view(0)))))
    old_ip = h.addr[moved]
    h.stop([moved])
    h.move([moved])
    h.start(moved)
    healed = h.wait_healthy(pods(h), 60)
    print(f"one master moved {old_ip} -> {h.addr[moved]}: cluster healthy again after {healed:.1f}s")
    assert f"{old_ip} -> {h.addr[moved]}" in h.log(moved)
    assert h.roles(0) == roles
    assert missing(h, h.expected) == []

    everyone = pods(h)
    h.stop(everyone)
    h.move(everyone)
    started = time.monotonic()
    for i in everyone:
        h.start(i, wait=False)
    for i in everyone:
        h.wait_up(i)
    healed = h.wait_healthy(everyone, 90)
    print(f"all {len(everyone)} pods on new addresses: up after {time.monotonic() - started - healed:.1f}s, "
          f"cluster healthy {healed:.1f}s later")
    for i in everyone:
        assert "rewrote" in h.log(i).rsplit("cluster-start: wrote", 1)[1], f"pod {i} did not repair nodes.conf"
    assert h.roles(0) == roles
    assert missing(h, h.expected) == []


def test_bootstrap_refuses_a_pod_that_holds_data(cluster):
    h = cluster
    stray = 12
    h.move([stray])
    ip, data = h.addr[stray], h.root / f"pod-{stray}" / "data"
    data.mkdir(parents=True)
    # A volume that already holds data (say, restored by hand): written here
    # by a standalone redis on the same directory before the pod starts.
    conf = h.root / "standalone.conf"
    conf.write_text(render_redis_conf(RedisConfSpec(maxmemory_bytes=MAXMEMORY, bind=ip, data_dir=str(data), include=None)))
    standalone = h.group.start(["redis-server", str(conf)], h.root / "standalone.log")
    wait_for(lambda: port_open(ip, 6379), 10, what="standalone redis")
    redis.Redis(host=ip, socket_timeout=2).set("orphan", "keep-me")
    standalone.stop()
    h.start(stray)
    assert h.node(stray).dbsize() == 1
    roles = h.roles(0)

    names = " ".join(h.hostname(i) for i in range(stray + 1))
    result = h.bootstrap(TOPO4R2, CLUSTER_NODES=names)
    assert result.returncode != 0
    refusal = [line for line in result.stdout.splitlines() if "refusing" in line]
    assert refusal and h.hostname(stray) in refusal[0], result.stdout
    assert h.roles(0) == roles
    assert h.node(stray).dbsize() == 1
    assert h.cluster_info(stray)["cluster_known_nodes"] == "1"
