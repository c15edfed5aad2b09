"""Bounded loss under a partition (deployments[].minReplicasToWrite): the
rendered redis.conf on a real master and replica; the replica is frozen
(SIGSTOP: to the master it looks partitioned away) and the test measures
how long, and how many writes, the master still acknowledges alone: the
writes a failover on the other side would lose."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from components.redis.conf import RedisConfSpec, render_redis_conf
from tests.integration.procs import require, wait_for

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.3.120 - 127.0.3.123.
MASTER, REPLICA = "127.0.3.120", "127.0.3.121"


@pytest.mark.parametrize("min_replicas", [0, 1])
def test_master_cut_off_from_its_replica(tmp_path, procs, min_replicas):
    require("redis-server")
    master_ip, replica_ip = (MASTER, REPLICA) if min_replicas else ("127.0.3.122", "127.0.3.123")
    for ip in (master_ip, replica_ip):
        d = tmp_path / ip
        d.mkdir()
        spec = RedisConfSpec(maxmemory_bytes=64 << 20, bind=ip, data_dir=str(d), include=None,
                             min_replicas_to_write=min_replicas, min_replicas_max_lag=2,
                             extra={"replicaof": f"{master_ip} 6379"} if ip == replica_ip else {})
        (d / "redis.conf").write_text(render_redis_conf(spec))
    m = procs.start(["redis-server", str(tmp_path / master_ip / "redis.conf")], tmp_path / "m.log")
    r = procs.start(["redis-server", str(tmp_path / replica_ip / "redis.conf")], tmp_path / "r.log")
    c = redis.Redis(host=master_ip, socket_timeout=2)
    wait_for(lambda: c.info("replication").get("slave0", {}).get("state") == "online", 30, what="replica online")
    assert c.set("before", 1)
    os.kill(r.pid, signal.SIGSTOP)
    try:
        cut = time.monotonic()
        acked_alone, refused_after = 0, None
        while time.monotonic() - cut < 8:
            try:
                c.set(f"alone:{acked_alone}", 1)
                acked_alone += 1
            except redis.ResponseError as exc:
                assert "NOREPLICAS" in str(exc)
                refused_after = time.monotonic() - cut
                break
            time.sleep(0.01)
    finally:
        os.kill(r.pid, signal.SIGCONT)
    print(f"\nmin-replicas-to-write {min_replicas} (max lag 2 s): the master acknowledged {acked_alone} writes alone"
          + (f", refused from {refused_after:.1f}s" if refused_after is not None else " and never refused in 8 s"))
    if min_replicas:
        # Redis checks the replicas' acks once a second (replicationCron): lag + 2 s at worst.
        assert refused_after is not None and refused_after <= 2 + 2.5
    else:
        assert refused_after is None
    assert m.alive()
