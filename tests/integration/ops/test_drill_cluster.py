"""The failover drill on a live 3-shard cluster while a client writes
continuously: the report is printed, no acknowledged write is lost in
graceful mode, and the cluster ends healthy with its original masters."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from components.operations.scripts import DRILL
from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import AUTH_ENV, ClusterHarness, masters
from tests.integration.ops.helpers import run_ops

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.0.178 - 127.0.0.185.
ADDRS = [f"127.0.0.{i}" for i in range(178, 186)]


class Client(threading.Thread):
    """An application writing one key after another, remembering what was acknowledged."""

    def __init__(self, h: ClusterHarness):
        super().__init__(daemon=True)
        self.h, self.acked, self.errors, self.stop = h, {}, 0, threading.Event()

    def run(self) -> None:
        rc = self.h.cluster_client()
        i = 0
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            i += 1
            try:
                if rc.set(f"app:{i}", str(i)):
                    self.acked[f"app:{i}"] = str(i)
            except redis.RedisError:
                self.errors += 1
                time.sleep(0.05)
        rc.close()


def test_graceful_drill_with_a_client_writing(tmp_path, procs):
    topo = ClusterTopology(statefulset_name="orders", headless_service="orders-headless", namespace="redis",
                           shards=3, replicas_per_shard=1)
    h = ClusterHarness(tmp_path, procs, topo, addresses=list(ADDRS))
    for i in range(6):
        h.start(i)
    assert h.bootstrap(topo).returncode == 0
    h.wait_healthy(list(range(6)), 60)
    masters_before = {v["hostname"]: v["slots"] for v in masters(h.view(0)).values()}

    client = Client(h)
    client.start()
    time.sleep(1)
    env = {"MODE": "cluster", "DEPLOYMENT": "orders", **AUTH_ENV, "PATH": h.path,
           "CLUSTER_NODES": " ".join(h.hostname(i) for i in range(6)), "WARMUP_SECONDS": "2", "AFTER_SECONDS": "3",
           "HEAL_TIMEOUT": "60"}
    out = run_ops(DRILL, env, wrap=h.in_dns_namespace, timeout=170)
    client.stop.set()
    client.join(10)

    assert out.returncode == 0
    assert "failover drill report" in out.stdout
    assert "acknowledged writes lost:   0" in out.stdout and "result:                     PASS" in out.stdout
    # The client's own acknowledged writes are all there.
    rc = h.cluster_client()
    try:
        keys = list(client.acked)
        values = [v for start in range(0, len(keys), 500) for v in rc.mget_nonatomic(keys[start:start + 500])]
        lost = [k for k, v in zip(keys, values) if v != client.acked[k]]
    finally:
        rc.close()
    print(f"client: {len(client.acked)} writes acknowledged, {client.errors} errors, {len(lost)} lost")
    assert len(client.acked) > 100 and lost == []
    # Healthy, with the same masters owning the same slots as before, and no drill key left.
    print(f"harness sees the cluster healthy {h.wait_healthy(list(range(6)), 15):.1f}s after the drill")
    assert {v["hostname"]: v["slots"] for v in masters(h.view(0)).values()} == masters_before
    assert not [k for i in range(6) if h.node(i).info("replication")["role"] == "master"
                for k in h.node(i).scan_iter("drill:*")]
