"""A Redis Cluster pod comes back with an empty volume and repairs itself:
no Job, no person. Real redis-server pods on loopback started by
cluster-start.sh (which starts cluster-repair.sh); a cluster-aware client
keeps writing throughout."""

from __future__ import annotations

import shutil
import time

import pytest

from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import ClusterWriter, ClusterHarness, formed_cluster, masters, missing, replicas_of
from tests.integration.procs import wait_for

pytestmark = pytest.mark.integration

TOPO = ClusterTopology("rep", "rep-headless", "rp-test", shards=3, replicas_per_shard=1)
# This module's addresses: 127.0.3.50 - 127.0.3.69.
ADDRESSES = [f"127.0.3.{i}" for i in range(50, 70)]


@pytest.fixture
def cluster(tmp_path):
    with formed_cluster(tmp_path, TOPO, ADDRESSES) as h:
        yield h


def ghost_free(h: ClusterHarness, everyone: list[int]) -> bool:
    ids = {h.node(i).execute_command("CLUSTER", "MYID") for i in everyone}
    return all(set(h.view(i)) == ids for i in everyone)


@pytest.mark.parametrize("role", ["master", "replica"])
def test_pod_with_a_wiped_volume_rejoins_by_itself(cluster, role):
    h = cluster
    everyone = list(range(TOPO.node_count))
    view = h.view(0)
    ip_of = {h.addr[i]: i for i in everyone}
    victim_id, victim = next((nid, v) for nid, v in view.items() if (role == "master") == ("master" in v["flags"]))
    victim_ord = ip_of[victim["ip"]]
    writer = ClusterWriter(h, "rep", 300)
    writer.start()
    try:
        wait_for(lambda: len(writer.acked) > 500, 20, what="writes before the loss")
        # The node is replaced: redis stops (no preStop: the node is gone), the volume is lost.
        lost_at = time.monotonic()
        h.stop([victim_ord])
        if role == "master":
            wait_for(lambda: len(masters(h.view(0 if victim_ord else 1))) == 3 and victim_id not in masters(h.view(0 if victim_ord else 1)),
                     30, interval=0.25, what="the cluster fails over the lost master")
        data = h.root / f"pod-{victim_ord}" / "data"
        shutil.rmtree(data)
        data.mkdir()
        h.start(victim_ord)
        h.wait_healthy(everyone, timeout=120)
        # Healthy counts the node once it has met the cluster, as an empty
        # master; the repair then makes it a replica: wait for its word.
        wait_for(lambda: "repaired: this node is a replica" in h.log(victim_ord), 60, interval=0.25,
                 what="the repair making the wiped node a replica")
        healed = time.monotonic() - lost_at
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 200, 20, what="writes after the repair")
    finally:
        writer.done.set()
        writer.join(30)
    log = [ln for ln in h.log(victim_ord).splitlines() if "cluster-repair" in ln]
    print(f"\nwiped {role} pod {victim_ord}: healthy {healed:.1f}s after it was lost; "
          f"{len(writer.acked)} writes acknowledged, {writer.refused} refused")
    print("\n".join(log))
    view = h.view(0)
    assert len(masters(view)) == 3 and all(len(replicas_of(view, m)) == 1 for m in masters(view))
    assert ghost_free(h, everyone), "a node ID no pod owns is still in the cluster"
    assert victim_id not in view
    assert h.cluster_info(0)["cluster_slots_ok"] == "16384"
    assert any("repaired: this node is a replica" in ln for ln in log)
    lost = missing(h, writer.acked)
    print(f"acknowledged writes lost: {len(lost)}")
    # Idempotent: a restart of the repaired pod (its volume kept) changes nothing.
    h.stop([victim_ord])
    h.start(victim_ord)
    h.wait_healthy(everyone, timeout=60)
    assert "in a cluster already" in h.log(victim_ord) or h.log(victim_ord).count("cluster-repair") == len(log)
    assert ghost_free(h, everyone)
