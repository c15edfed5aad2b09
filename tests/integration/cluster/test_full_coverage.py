"""While one shard fails over, do the other shards keep taking writes?

The measurement behind cluster.requireFullCoverage's default: a master is
killed (SIGKILL, no preStop), a cluster-aware client writes only keys of the
other shards (redis-py retries CLUSTERDOWN for up to ~0.75 s, so its
refusals show as stalls: the longest gap between acknowledged writes is
printed), and a probe without retries writes straight to another master's
own slot every 20 ms and counts its CLUSTERDOWN replies, with
cluster-require-full-coverage yes and no."""

from __future__ import annotations

import threading
import time

import pytest
from redis.exceptions import ClusterDownError, RedisClusterException, RedisError

from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import ClusterHarness, masters, slot_set
from tests.integration.procs import ProcGroup, wait_for
from redis.crc import key_slot

pytestmark = pytest.mark.integration

TOPO = ClusterTopology("cov", "cov-headless", "rp-test", shards=3, replicas_per_shard=1)


@pytest.mark.parametrize("full_coverage", [True, False])
def test_other_shards_during_a_failover(tmp_path, full_coverage):
    first = 100 if full_coverage else 110  # this module's addresses: 127.0.3.100 - 127.0.3.119
    group = ProcGroup()
    h = ClusterHarness(tmp_path, group, TOPO, addresses=[f"127.0.3.{first + i}" for i in range(10)],
                       conf={"cluster_require_full_coverage": full_coverage})
    try:
        for i in range(TOPO.node_count):
            h.start(i, wait=False)
        for i in range(TOPO.node_count):
            h.wait_up(i)
        assert h.bootstrap(TOPO).returncode == 0
        h.wait_healthy(list(range(TOPO.node_count)), timeout=60)
        view = h.view(0)
        victim_id, victim = next(iter(masters(view).items()))
        victim_ord = next(i for i, a in h.addr.items() if a == victim["ip"])
        dead = slot_set(victim["slots"])
        keys = [k for k in (f"other:{i}" for i in range(5000)) if key_slot(k.encode()) not in dead][:1000]
        refused: list[float] = []
        acked = [0]
        last_ack, gap = [time.monotonic()], [0.0]
        stop = threading.Event()
        other_id, other = next((nid, v) for nid, v in masters(view).items() if nid != victim_id)
        other_ord = next(i for i, a in h.addr.items() if a == other["ip"])
        mine = slot_set(other["slots"])
        probe_key = next(k for k in (f"probe:{i}" for i in range(100_000)) if key_slot(k.encode()) in mine)
        clusterdown: list[float] = []

        def probe() -> None:
            c = h.node(other_ord)
            while not stop.is_set():
                try:
                    c.set(probe_key, 1)
                except RedisError as exc:
                    if isinstance(exc, ClusterDownError):
                        clusterdown.append(time.monotonic())
                time.sleep(0.02)

        def writer() -> None:
            rc, n = h.cluster_client(), 0
            while not stop.is_set() and n < 10_000_000:
                n += 1
                try:
                    rc.set(keys[n % len(keys)], n)
                    acked[0] += 1
                    now = time.monotonic()
                    gap[0] = max(gap[0], now - last_ack[0])
                    last_ack[0] = now
                except (RedisError, RedisClusterException):
                    refused.append(time.monotonic())
                    time.sleep(0.01)
            rc.close()

        t = threading.Thread(target=writer, daemon=True)
        p = threading.Thread(target=probe, daemon=True)
        t.start()
        try:
            wait_for(lambda: acked[0] > 200, 20, what="writes before the kill")
            gap[0] = 0.0
            p.start()
            killed = time.monotonic()
            h.pods[victim_ord].kill()
            others = [i for i in range(TOPO.node_count) if i != victim_ord]
            wait_for(lambda: victim_id not in masters(h.view(others[0])) and len(masters(h.view(others[0]))) == 3
                     and h.cluster_info(others[0])["cluster_state"] == "ok", 60, interval=0.1, what="failover done")
            took = time.monotonic() - killed
            n = acked[0]
            wait_for(lambda: acked[0] > n + 200, 20, what="writes after the failover")
        finally:
            stop.set()
            t.join(30)
            p.join(10)
        down = (clusterdown[-1] - clusterdown[0] + 0.02) if clusterdown else 0.0
        print(f"\ncluster-require-full-coverage {'yes' if full_coverage else 'no'}: master killed, failover done in "
              f"{took:.1f}s; writes to the OTHER shards: {acked[0]} acknowledged, {len(refused)} refused by the client, "
              f"longest stall {gap[0]:.2f}s; probe on another master: {len(clusterdown)} CLUSTERDOWN over {down:.2f}s")
        if full_coverage:
            assert clusterdown, "with full coverage the other shards refuse writes while one shard has no master"
        else:
            assert clusterdown == [] and refused == [], (len(clusterdown), len(refused))
    finally:
        group.stop_all()
