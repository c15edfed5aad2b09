"""A replica added beyond the configured count, as the autoscaler adds one:
HAProxy's config already lists every ordinal up to the autoscaler's maximum
(stacks/redis.py haproxy_redis_hosts), so the new pod joins through the
Sentinels with the unchanged start script, receives reads through the read
port with no new haproxy.cfg, and leaves (scale-in stops it) with reads and
writes going on.

Here pods are addresses, not DNS names: the not-yet-running pod's server is
down by its checks rather than by a missing DNS record
(test_haproxy_dns.py covers HAProxy following records as they appear).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.haproxy.cfg import render_haproxy_cfg
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import READ_PORT, WRITE_PORT, MasterSet, Topology, haproxy_spec

pytestmark = pytest.mark.integration


# Issue 19's own addresses: 127.0.19.20-27; index 7 is the autoscaled pod.
TOPOLOGY = Topology(subnet="127.0.19", first=20)


def _reads_reach(ms: MasterSet, tries: int = 24) -> set[str | None]:
    return {ms.via(READ_PORT) for _ in range(tries)}


def test_autoscaled_replica_joins_serves_reads_and_leaves(procs, tmp_path):
    topo = TOPOLOGY
    extra = topo.ip(7)
    ms = MasterSet(procs, tmp_path, topo)
    # Rendered once, with the extra ordinal, before the pod exists.
    ms.haproxy_cfg = render_haproxy_cfg(replace(haproxy_spec(topo), redis_hosts=topo.redis + (extra,),
                                                nameservers=()))
    ms.start_all()
    cfg_before = (tmp_path / "haproxy.cfg").read_text()
    w = ms.client(topo.haproxy, WRITE_PORT)
    w.set("before-scale", "1")
    wait_for(lambda: _reads_reach(ms, 8) <= set(topo.redis[1:]), 15, 0.3, what="reads on the two replicas")
    assert extra not in _reads_reach(ms)

    # Scale out: the StatefulSet controller starts pod 3 with the same start script.
    node = ms.start_node(extra)
    wait_for(lambda: ms.role(extra) == "slave" and ms.client(extra).get("before-scale") == b"1", 20, 0.3,
             what="extra pod is a replica in sync")
    for s in topo.sentinels:
        wait_for(lambda s=s: extra in str(ms.client(s, 26379).execute_command("SENTINEL", "REPLICAS", "main")),
                 20, 0.5, what=f"sentinel {s} lists the new replica")
    wait_for(lambda: extra in _reads_reach(ms, 12), 20, 0.5, what="reads reach the new replica")
    assert (tmp_path / "haproxy.cfg").read_text() == cfg_before
    assert ms.via(WRITE_PORT) == topo.redis[0]

    # Scale in: the pod is stopped; reads and writes go on without it.
    node.stop()
    wait_for(lambda: extra not in _reads_reach(ms, 12), 20, 0.5, what="reads leave the removed replica")
    reached = _reads_reach(ms)
    assert None not in reached and reached <= set(topo.redis[1:])
    w = ms.client(topo.haproxy, WRITE_PORT)
    w.set("after-scale", "2")
    r = ms.client(topo.haproxy, READ_PORT)
    wait_for(lambda: r.get("after-scale") == b"2", 10, 0.2, what="a write read back through the read port")
    assert ms.client(topo.redis[0]).info("replication")["connected_slaves"] == 2
