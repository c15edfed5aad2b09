"""The pre-roll Job's script (cluster-preroll.sh), fed the env the component
renders (cluster_scripts.preroll_env), on a real Redis Cluster:

- a version roll under load: masters first placed on the HIGHEST ordinals
  (the worst case for the controller's order), the pre-roll moves each to its
  shard's lowest-ordinal pod, then the roll runs in the controller's order
  (highest ordinal first: preStop, stop, start on a copied redis-server,
  readiness). Every replica of a shard restarts before its master, no replica
  still on the old binary ever follows a master on the new one, and no
  acknowledged write is lost;
- refusals: the lowest-ordinal pod of a shard down, or not caught up: one
  STOPPED line naming the pod, nothing moved;
- scale-in in the same Job: a lower SHARDS drains before the pods go, and
  refuses in one line when the data does not fit;
- a slot the cluster routes to a master that does not claim it (the end state
  of redis/redis#12564, made here with CLUSTER DELSLOTS) is claimed back when
  no replica holds more of its keys, and refused in one line when one does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisError

from components.common.tls import IssuerRef, TlsArgs, certificate_spec
from components.redis.cluster_scripts import PREROLL_SCRIPT, ClusterTopology, preroll_env
from tests.integration.cluster.harness import (
    ADMIN_USER, AUTH_ENV, PASSWORD, ClusterHarness, ClusterWriter, formed_cluster, masters, missing, replicas_of, slot_set, write,
)
from tests.integration.cluster.test_scale_in import four_to_three_under_load
from tests.integration.procs import wait_for
from tests.integration.tls_certs import TestPki

pytestmark = pytest.mark.integration

ROLL = ClusterTopology("pre", "pre-headless", "rp-test", shards=3, replicas_per_shard=2)
SMALL = ClusterTopology("pre", "pre-headless", "rp-test", shards=3, replicas_per_shard=1)
FOUR = replace(SMALL, shards=4)
# This module's addresses: 127.0.14.10 - 127.0.14.149.
ROLL_ADDRESSES = [f"127.0.14.{i}" for i in range(10, 30)]
REFUSE_ADDRESSES = [f"127.0.14.{i}" for i in range(30, 50)]
SHRINK_ADDRESSES = [f"127.0.14.{i}" for i in range(60, 90)]
TLS_ADDRESSES = [f"127.0.14.{i}" for i in range(100, 120)]
CLAIM_ADDRESSES = [f"127.0.14.{i}" for i in range(130, 150)]


def run_preroll(h: ClusterHarness, topology: ClusterTopology, wait_s: int = 20, **extra: str) -> subprocess.CompletedProcess:
    """The Job: its rendered env, the admin login, the scripts as mounted."""
    env = dict(os.environ) | preroll_env(topology) | {
        **AUTH_ENV, "PREROLL_WAIT_SECONDS": str(wait_s), "WAIT_TIMEOUT_SECONDS": "60", "PATH": h.path} | h.tls_env() | extra
    started = time.monotonic()
    result = subprocess.run(h.in_dns_namespace(["dash", str(h.scripts / PREROLL_SCRIPT)]), env=env,
                            capture_output=True, text=True, timeout=300)
    print(f"--- pre-roll ({time.monotonic() - started:.1f}s, rc={result.returncode}) ---\n{result.stdout}{result.stderr}")
    return result


def ordinal_map(h: ClusterHarness) -> dict[str, int]:
    return {h.hostname(i): i for i in range(h.topology.node_count)}


def shards(h: ClusterHarness, via: int = 0) -> dict[int, dict]:
    """First slot -> {"master": ordinal, "replicas": [ordinals]} from one pod's view."""
    view, ords = h.view(via), ordinal_map(h)
    out = {}
    for mid, m in masters(view).items():
        out[min(slot_set(m["slots"]))] = {"master": ords[m["hostname"]],
                                          "replicas": sorted(ords[r["hostname"]] for r in replicas_of(view, mid))}
    return out


def masters_to_highest(h: ClusterHarness) -> None:
    """Start from the worst placement: each shard's master on its highest ordinal."""
    for shard in shards(h).values():
        top = max(shard["replicas"], default=shard["master"])
        if top > shard["master"]:
            assert h.node(top).execute_command("CLUSTER", "FAILOVER") == "OK"
            wait_for(lambda top=top: h.node(top).execute_command("ROLE")[0] == "master", 30, what=f"pod {top} master")
    h.wait_healthy(list(range(h.topology.node_count)), timeout=60)
    for shard in shards(h).values():
        assert shard["master"] > max(shard["replicas"], default=-1), shard


class FollowWatch(threading.Thread):
    """Every 100 ms, every pod not yet rolled (and not the one being stopped):
    if it is a replica, of whom. A replica on the old binary following a
    master on the new one is recorded."""

    def __init__(self, h: ClusterHarness):
        super().__init__(daemon=True)
        self.h, self.done = h, threading.Event()
        self.rolled: set[int] = set()
        self.rolling: int | None = None
        self.bad: list[tuple[int, int, str]] = []
        self.samples = 0

    def run(self) -> None:
        by_ip = {ip: i for i, ip in self.h.addr.items()}
        clients = {i: redis.Redis(host=ip, port=6379, username=ADMIN_USER, password=PASSWORD, decode_responses=True,
                                  socket_timeout=0.5, socket_connect_timeout=0.5) for i, ip in self.h.addr.items()}
        while not self.done.is_set():
            for i, c in clients.items():
                if i in self.rolled or i == self.rolling:
                    continue
                try:
                    info = c.info("replication")
                except RedisError:
                    continue
                if info.get("role") == "slave":
                    m = by_ip.get(info.get("master_host"))
                    # Read again after the answer: the main loop may have
                    # just started rolling this pod.
                    if m in self.rolled and i not in self.rolled and i != self.rolling:
                        self.bad.append((i, m, str(info.get("master_link_status"))))
            self.samples += 1
            time.sleep(0.1)


def new_version_bin(root: Path) -> Path:
    d = root / "redis-new-bin"
    d.mkdir()
    shutil.copy2(shutil.which("redis-server"), d / "redis-server")
    return d


def test_version_roll_restarts_every_replica_before_its_master(tmp_path):
    with formed_cluster(tmp_path / "c", ROLL, ROLL_ADDRESSES) as h:
        everyone = list(range(ROLL.node_count))
        masters_to_highest(h)
        before = shards(h)
        print(f"\nbefore the pre-roll (first slot: master / replicas): {before}")
        bin_dir = new_version_bin(tmp_path)
        writer = ClusterWriter(h, "preroll", 600)
        watch = FollowWatch(h)
        writer.start()
        log, restarts = [], []
        try:
            wait_for(lambda: len(writer.acked) > 500, 20, what="writes before the pre-roll")
            started = time.monotonic()
            pre = run_preroll(h, ROLL)
            assert pre.returncode == 0
            preroll_took = time.monotonic() - started
            after = shards(h)
            print(f"after the pre-roll: {after}")
            for first, shard in after.items():
                assert shard["master"] < min(shard["replicas"]), (first, shard)
                assert sorted([shard["master"], *shard["replicas"]]) == sorted([before[first]["master"], *before[first]["replicas"]])
            # Run again: already in shape, nothing to move.
            again = run_preroll(h, ROLL)
            assert again.returncode == 0 and "nothing to move" in again.stdout
            watch.start()
            for i in reversed(everyone):
                me = next(s for s in shards(h, via=i).items() if i in (s[1]["master"], *s[1]["replicas"]))
                was = "master" if me[1]["master"] == i else "replica"
                restarts.append((i, me[0], was))
                t0 = time.monotonic()
                watch.rolling = i
                pre_stop = h.prestop(i)
                assert pre_stop.returncode == 0, pre_stop.stderr
                h.stop([i])
                watch.rolled.add(i)
                h.start(i, bin_dir=bin_dir)
                wait_for(lambda: h.ready(i), 120, interval=0.25, what=f"pod {i} ready again")
                watch.rolling = None
                log.append(f"pod {i} ({was} of shard {me[0]}): {time.monotonic() - t0:.1f}s; "
                           + pre_stop.stdout.strip().replace("\n", " | ")[-200:])
            rolled = time.monotonic() - started
            h.wait_healthy(everyone, timeout=90)
            healthy_after = time.monotonic() - started
            n = len(writer.acked)
            wait_for(lambda: len(writer.acked) > n + 200, 20, what="writes after the roll")
        finally:
            watch.done.set()
            writer.stop()
        lost = missing(h, writer.acked)
        print(f"cluster 3x2 pre-roll + version roll: {len(writer.acked)} writes acknowledged, {writer.refused} refused, "
              f"{len(lost)} lost; pre-roll {preroll_took:.1f}s, roll {rolled:.1f}s, full health {healthy_after:.1f}s "
              f"after the pre-roll began; follow samples {watch.samples}, old replicas following a new master: {watch.bad}")
        print("\n".join(log))
        assert lost == [], f"{len(lost)} acknowledged writes lost, first {lost[:5]}"
        assert watch.samples > 20 and watch.bad == []
        # Within each shard, the pod restarted as master is the last of it.
        for first in after:
            order = [(i, was) for i, s, was in restarts if s == first]
            assert [was for _, was in order] == ["replica", "replica", "master"], (first, order)
        for i in everyone:
            assert os.readlink(f"/proc/{h.pods[i].pid}/exe") == str(bin_dir / "redis-server")


def test_refuses_in_one_line_and_moves_nothing(tmp_path):
    with formed_cluster(tmp_path, SMALL, REFUSE_ADDRESSES) as h:
        masters_to_highest(h)
        before = shards(h, via=5)
        low = min(before.values(), key=lambda s: s["replicas"][0])["replicas"][0]
        # 1. The lowest-ordinal pod of a shard is down.
        h.stop([low])
        down = run_preroll(h, SMALL, wait_s=3)
        stops = down_stops = [ln for ln in down.stdout.splitlines() if "STOPPED" in ln]
        assert down.returncode == 1 and len(stops) == 1, down.stdout
        assert h.hostname(low) in stops[0] and "does not answer" in stops[0] and "nothing was moved" in stops[0]
        assert shards(h, via=5) == before
        h.start(low)
        h.wait_healthy(list(range(SMALL.node_count)), timeout=60)
        wait_for(lambda: h.ready(low), 60, interval=0.25, what=f"pod {low} in sync again")
        # 2. It answers but cannot catch up: its replication link fails (a
        #    wrong masterauth, then the link dropped).
        r = h.node(low)
        r.config_set("masterauth", "not-the-password")
        r.execute_command("CLIENT", "KILL", "TYPE", "master")
        wait_for(lambda: r.info("replication").get("master_link_status") == "down", 20, what="link down")
        started = time.monotonic()
        behind = run_preroll(h, SMALL, wait_s=3)
        took = time.monotonic() - started
        stops = [ln for ln in behind.stdout.splitlines() if "STOPPED" in ln]
        assert behind.returncode == 1 and len(stops) == 1, behind.stdout
        assert h.hostname(low) in stops[0] and "has not caught up within 3s" in stops[0] and "nothing was moved" in stops[0]
        assert shards(h, via=5) == before
        print(f"\nrefusals:\n  pod down: {down_stops[0]}\n  not caught up (after {took:.1f}s): {stops[0]}")


def test_lower_shards_drain_before_the_pods_go(tmp_path):
    with formed_cluster(tmp_path, FOUR, SHRINK_ADDRESSES) as h:
        refused = four_to_three_under_load(h, lambda topology: run_preroll(h, topology, wait_s=30), "pre-roll:")
        assert refused.returncode == 1
        for shard in shards(h).values():
            assert shard["master"] < min(shard["replicas"], default=99), shard


def test_over_tls_as_admin(tmp_path):
    """TLS on: the Job's redis-cli calls go over TLS with the CA alone."""
    spec = certificate_spec(TlsArgs("pre-tls", IssuerRef("ca")), SMALL.namespace, SMALL.cluster_domain, (SMALL.headless_service,), ("pre",), {})
    pki = TestPki(tmp_path / "tls", spec["dnsNames"] + spec["ipAddresses"] + TLS_ADDRESSES)
    with formed_cluster(tmp_path / "c", SMALL, TLS_ADDRESSES, tls=pki) as h:
        masters_to_highest(h)
        result = run_preroll(h, SMALL)
        assert result.returncode == 0
        for shard in shards(h).values():
            assert shard["master"] < min(shard["replicas"]), shard


def claims(h: ClusterHarness, ordinal: int) -> set[int]:
    """The slots a pod's own table says it serves (its myself line)."""
    me = next(v for v in h.view(ordinal).values() if "myself" in v["flags"])
    return slot_set(me["slots"])


def test_a_slot_its_master_stopped_claiming_is_claimed_back_or_refused(tmp_path):
    """Every other node routes the slot to its master, which answers "Hash
    slot not served": the pre-roll takes the slot back on the master when no
    replica holds more of its keys; when one does, it stops in one line
    naming the slot and the replica, and changes nothing."""
    with formed_cluster(tmp_path, SMALL, CLAIM_ADDRESSES) as h:
        items = {f"claim:{i}": str(i) for i in range(3000)}
        write(h, items)
        shard = shards(h)[0]
        owner, replica = shard["master"], shard["replicas"][0]
        n = h.node(owner)
        owner_id = n.execute_command("CLUSTER", "MYID")
        mine = sorted((int(n.execute_command("CLUSTER", "KEYSLOT", k)), k) for k in items)
        mine = [(slot, k) for slot, k in mine if slot in claims(h, owner)]
        (s1, k1), (s2, k2) = mine[0], next(x for x in mine if x[0] != mine[0][0])

        def routed_to_owner(slot: int) -> bool:
            return all(slot in slot_set(h.view(i)[owner_id]["slots"]) for i in range(SMALL.node_count) if i != owner)

        # 1. The owner drops s1 from its own table; its replica holds as many keys.
        assert n.execute_command("CLUSTER", "DELSLOTS", s1) == "OK"
        wait_for(lambda: s1 not in claims(h, owner), 10, what="the owner's own table without the slot")
        with pytest.raises(RedisError, match="not served"):
            n.get(k1)
        assert routed_to_owner(s1)
        # Between runs the per-node alert RedisClusterSlotsUnassigned
        # (redis_cluster_slots_assigned < 16384: the exporter's reading of
        # CLUSTER INFO) names the owner, and no other node.
        assigned = {i: int(h.cluster_info(i)["cluster_slots_assigned"]) for i in range(SMALL.node_count)}
        assert assigned == {i: 16383 if i == owner else 16384 for i in assigned}
        fixed = run_preroll(h, SMALL, wait_s=10)
        assert fixed.returncode == 0
        assert f"slot {s1}: the cluster routes it to {h.hostname(owner)}, which did not claim it" in fixed.stdout
        assert s1 in claims(h, owner) and routed_to_owner(s1)
        assert n.get(k1) == items[k1] and missing(h, items) == []

        # 2. The owner lost a key of s2 that its replica still holds (as
        #    redis#12564 deletes the keys of the slot it drops, on the master
        #    alone), then drops s2: claiming it back would lose that key.
        assert n.eval("redis.set_repl(redis.REPL_NONE) return redis.call('DEL', KEYS[1])", 1, k2) == 1
        assert n.execute_command("CLUSTER", "DELSLOTS", s2) == "OK"
        wait_for(lambda: s2 not in claims(h, owner), 10, what="the owner's own table without the slot")
        keys_before, in_s2 = n.dbsize(), sum(slot == s2 for slot, _ in mine)
        refused = run_preroll(h, SMALL, wait_s=10)
        stops = [ln for ln in refused.stdout.splitlines() if "STOPPED" in ln]
        assert refused.returncode == 1 and len(stops) == 1, refused.stdout
        assert f"slot {s2}:" in stops[0] and h.hostname(replica) in stops[0] and f"holds more of its keys ({in_s2} against {in_s2 - 1})" in stops[0], stops
        assert s2 not in claims(h, owner) and routed_to_owner(s2) and n.dbsize() == keys_before
        print(f"\nclaimed back: slot {s1} on pod {owner}; refused: {stops[0]}")
