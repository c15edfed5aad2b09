"""Zone-aware pairing: pods given zones so that `--cluster create` left
every shard's master and replica in one zone; the bootstrap script, run with
the pods' zones (NODE_ZONES), swaps replicas until no shard has all its
copies in one zone. Real redis-server pods on loopback."""

from __future__ import annotations

import pytest

from components.redis.cluster_scripts import ClusterTopology
from tests.integration.cluster.harness import ClusterHarness, masters, missing, replicas_of, write
from tests.integration.procs import ProcGroup

pytestmark = pytest.mark.integration

TOPO = ClusterTopology("zon", "zon-headless", "rp-test", shards=3, replicas_per_shard=1)
# This module's addresses: 127.0.3.130 - 127.0.3.139.
ADDRESSES = [f"127.0.3.{i}" for i in range(130, 140)]


def zones_per_shard(h: ClusterHarness, zone_of: dict[str, str]) -> dict[str, set[str]]:
    view = h.view(0)
    host = {nid: v["hostname"] for nid, v in view.items()}
    return {m: {zone_of[host[m]]} | {zone_of[r["hostname"]] for r in replicas_of(view, m)} for m in masters(view)}


def test_bootstrap_spreads_every_shard_over_zones(tmp_path):
    group = ProcGroup()
    h = ClusterHarness(tmp_path, group, TOPO, addresses=ADDRESSES)
    try:
        h.form()
        everyone = list(range(TOPO.node_count))
        items = {f"z:{i}": str(i) for i in range(3000)}
        write(h, items)
        # Zones as the scheduler might have placed the pods: each shard's
        # master and replica on the same zone, the worst pairing.
        view = h.view(0)
        zone_of = {}
        for k, m in enumerate(masters(view)):
            zone_of[view[m]["hostname"]] = f"zone-{k}"
            for r in replicas_of(view, m):
                zone_of[r["hostname"]] = f"zone-{k}"
        assert all(len(z) == 1 for z in zones_per_shard(h, zone_of).values())

        result = h.bootstrap(TOPO, NODE_ZONES=" ".join(f"{host}={z}" for host, z in zone_of.items()))
        assert result.returncode == 0, result.stdout + result.stderr
        h.wait_healthy(everyone, timeout=60)
        spread = zones_per_shard(h, zone_of)
        print(f"\nzones per shard after the bootstrap: {sorted(map(sorted, spread.values()))}")
        assert all(len(z) >= 2 for z in spread.values()), spread
        view = h.view(0)
        assert len(masters(view)) == 3 and all(len(replicas_of(view, m)) == 1 for m in masters(view))
        assert missing(h, items) == []
        # Running it again changes nothing; this time the zones come as the
        # Job's init container (cluster-zones.sh) writes them: a file, a line a pod.
        zones_file = tmp_path / "node-zones"
        zones_file.write_text("".join(f"{host}={z}\n" for host, z in zone_of.items()))
        again = h.bootstrap(TOPO, NODE_ZONES_FILE=str(zones_file))
        assert "zones of the pods read from" in again.stdout
        assert again.returncode == 0 and "swapping" not in again.stdout
    finally:
        group.stop_all()
