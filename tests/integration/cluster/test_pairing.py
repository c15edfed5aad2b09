"""Zone-aware pairing: pods given zones so that `--cluster create` left
every shard's master and replica in one zone; the bootstrap script, run with
the pods' zones (NODE_ZONES), swaps replicas until no shard has all its
copies in one zone. And after a pod's self-repair (cluster-repair.sh, fed
the zone map as the init container publishes it in the ConfigMap the data
pods mount): no shard left in one zone either. Real redis-server pods on
loopback, a continuous writer during the repair."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from components.redis.bootstrap import (ZONE_MAP_KEY, ZONES_SCRIPT, ZoneDiscovery, data_pod_zone_map, zone_map_name,
                                        zones_env, zones_script)
from components.redis.cluster_scripts import ClusterTopology
from components.redis.pod import plain_env
from tests.integration.cluster.harness import (ClusterHarness, ClusterWriter, formed_cluster, masters, missing,
                                               replicas_of, write)
from tests.integration.procs import ProcGroup, wait_for

pytestmark = pytest.mark.integration

DEP = "zon"
TOPO = ClusterTopology(DEP, "zon-headless", "rp-test", shards=3, replicas_per_shard=1)
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


# -- after a repair -----------------------------------------------------------

# A kubectl stand-in for cluster-zones.sh: pod <name> runs on node node-<name>,
# whose zone comes from ZMAP ("<pod>=<zone>" lines); `patch configmap` keeps
# the JSON body it was given, as the API server would store it.
KUBECTL_STUB = """#!/bin/sh
shift
case "$1 $2" in
    "get pod") printf 'node-%s' "$3" ;;
    "get node") grep "^${3#node-}=" "$ZMAP" | cut -d= -f2 | tr -d '\\n' ;;
    "patch configmap") for a; do last="$a"; done; printf '%s\\n%s' "$3" "$last" >"$PATCHED" ;;
    *) exit 1 ;;
esac
"""


def zone_map_as_published(h: ClusterHarness, tmp: Path, zone_of_pod: dict[str, str]) -> Path:
    """The rendered init-container script (cluster-zones.sh, rendered env)
    run with a kubectl stand-in; what it patches into the ConfigMap is
    decoded and written where the data pods read it (NODE_ZONES_FILE)."""
    (tmp / "zmap").write_text("".join(f"{p}={z}\n" for p, z in zone_of_pod.items()))
    stub = tmp / "kubectl"
    stub.write_text(KUBECTL_STUB)
    stub.chmod(0o755)
    script = tmp / ZONES_SCRIPT
    script.write_text(zones_script())
    env = plain_env(zones_env(TOPO, ZoneDiscovery(image="unused"), DEP))
    env = {e["name"]: e["value"] for e in env} | {
        "OUT": str(tmp / "job-zones"), "HOME": str(tmp), "KUBECTL": str(stub), "PATH": h.path,
        "ZMAP": str(tmp / "zmap"), "PATCHED": str(tmp / "patched")}
    run = subprocess.run(["dash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    print(run.stdout, run.stderr)
    assert run.returncode == 0 and "zone map written to ConfigMap zon-zones" in run.stdout
    name, body = (tmp / "patched").read_text().split("\n", 1)
    assert name == zone_map_name(DEP)
    volume, mount, pod_env = data_pod_zone_map(DEP)
    text = json.loads(body)["data"][ZONE_MAP_KEY]
    assert text == (tmp / "job-zones").read_text(), "the ConfigMap holds what the bootstrap reads"
    assert pod_env["NODE_ZONES_FILE"] == f"{mount['mountPath']}/{ZONE_MAP_KEY}"
    published = tmp / "mounted" / ZONE_MAP_KEY
    published.parent.mkdir()
    published.write_text(text)
    return published


def wipe(h: ClusterHarness, ordinal: int) -> None:
    data = h.root / f"pod-{ordinal}" / "data"
    shutil.rmtree(data)
    data.mkdir()


@pytest.mark.parametrize("scenario", ["master-lost", "two-replicas-lost"])
def test_after_a_repair_no_shard_is_left_in_one_zone(tmp_path, scenario):
    """master-lost: a master and its replica share a zone; the master's pod
    comes back empty and the only shard lacking a replica is its own (now
    led by that replica): the naive choice leaves it one-zone, the repair's
    pairing step swaps. two-replicas-lost: the replicas of the two
    lowest-ID masters are lost; the first back would naively join the
    lowest-ID master, in its own zone; the repair picks the other."""
    with formed_cluster(tmp_path / "c", TOPO, ADDRESSES) as h:
        everyone = list(range(TOPO.node_count))
        ordinal = {h.hostname(i): i for i in everyone}
        view = h.view(0)
        ms = sorted(masters(view))
        rep = {m: replicas_of(view, m)[0]["hostname"] for m in ms}
        host = {m: view[m]["hostname"] for m in ms}
        a, b, c = ms
        if scenario == "master-lost":
            zones = {host[a]: "zone-a", rep[a]: "zone-a", host[b]: "zone-b", rep[b]: "zone-c",
                     host[c]: "zone-c", rep[c]: "zone-b"}
            lost = [ordinal[host[a]]]
        else:
            zones = {host[a]: "zone-a", rep[a]: "zone-b", host[b]: "zone-b", rep[b]: "zone-a",
                     host[c]: "zone-c", rep[c]: "zone-a"}
            # Back in this order: rep[b] first (naive: joins a, its own zone).
            lost = [ordinal[rep[b]], ordinal[rep[a]]]
        zone_of = {hn: z for hn, z in zones.items()}
        h.pod_env["NODE_ZONES_FILE"] = str(zone_map_as_published(
            h, tmp_path, {hn.split(".", 1)[0]: z for hn, z in zones.items()}))

        writer = ClusterWriter(h, "zr", 300)
        writer.start()
        try:
            wait_for(lambda: len(writer.acked) > 500, 20, what="writes before the loss")
            lost_at = time.monotonic()
            h.stop(lost)
            alive = next(i for i in everyone if i not in lost)
            if scenario == "master-lost":
                wait_for(lambda: a not in masters(h.view(alive)) and len(masters(h.view(alive))) == 3,
                         30, interval=0.25, what="the cluster fails over the lost master")
            for i in lost:
                wipe(h, i)
            for i in lost:
                h.start(i)
                wait_for(lambda: "cluster-repair: repaired" in h.log(i) and
                         ("pairing: every shard" in h.log(i) or "left as is" in h.log(i)), 120, interval=0.25,
                         what=f"pod {i} repaired and paired")
            h.wait_healthy(everyone, timeout=120)
            healed = time.monotonic() - lost_at
            n = len(writer.acked)
            wait_for(lambda: len(writer.acked) > n + 200, 20, what="writes after the repair")
        finally:
            writer.stop()
        logs = {i: [ln for ln in h.log(i).splitlines() if "cluster-repair" in ln] for i in lost}
        for i in lost:
            print("\n".join(logs[i]))
        spread = zones_per_shard(h, zone_of)
        view = h.view(0)
        ids = {h.node(i).execute_command("CLUSTER", "MYID") for i in everyone}
        lost_writes = missing(h, writer.acked)
        print(f"\n{scenario}: zones per shard after the repair: {sorted(map(sorted, spread.values()))}; "
              f"healthy {healed:.1f}s after the loss; {len(writer.acked)} writes acknowledged, "
              f"{len(lost_writes)} lost, {writer.refused} refused")
        assert all(len(z) >= 2 for z in spread.values()), spread
        assert len(masters(view)) == 3 and all(len(replicas_of(view, m)) == 1 for m in masters(view))
        assert h.cluster_info(0)["cluster_slots_ok"] == "16384"
        assert all(set(h.view(i)) == ids for i in everyone), "a node ID no pod owns is still in the cluster"
        assert lost_writes == []
        text = "\n".join(ln for i in lost for ln in logs[i])
        if scenario == "master-lost":
            assert "swapping its replica" in text
        else:
            assert "then spans more than one zone" in text and "swapping" not in text
            # The first back joined b, not the lowest-ID master a (the naive choice, its own zone).
            assert any(f"CLUSTER REPLICATE {b} " in ln for ln in logs[lost[0]])
