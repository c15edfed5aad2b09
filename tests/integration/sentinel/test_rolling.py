"""Rolling restart of every pod of a Sentinel master set, as the StatefulSet
controller does it: the data StatefulSet from the highest ordinal down (each
pod's preStop handover, SIGTERM, start, and the next pod only once the
rendered readiness probe passes), then the Sentinel StatefulSet the same
way (a new Sentinel pod has an empty memory emptyDir). A client keeps
writing through HAProxy's write port; no acknowledged write may be lost.

The version-change roll is the same with other binaries: every restarted
pod runs redis-server / redis-sentinel copied to the new version's path
(one Redis version on this machine; see tests/integration/cluster/test_rolling.py).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from components.redis.sentinel_scripts import REDIS_PRESTOP
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import WRITE_PORT, MasterSet, Topology, Writer, run_script

pytestmark = pytest.mark.integration


# This module's addresses: 127.0.3.30-49.
SUBNET = "127.0.3"


def _addresses(first: int) -> Topology:
    return Topology(subnet=SUBNET, first=first)


def roll_in_controller_order(ms: MasterSet, root, started: float, steps: list[str], hook=None) -> tuple[float, str, float]:
    """The StatefulSet controller's roll: data pods from the highest ordinal
    down (preStop, stop, start, readiness), then the Sentinels (fresh state),
    then wait for full health. ``hook(ip, phase, role)`` sees each data pod
    "stopping", "stopped" and "ready". Returns the roll's and full health's
    seconds since ``started``, and the master at the end."""
    hook = hook or (lambda ip, phase, role: None)
    for ip in reversed(ms.topo.redis):
        was = ms.role(ip)
        t0 = time.monotonic()
        hook(ip, "stopping", was)
        pre = run_script(REDIS_PRESTOP, ms.node_env(ip), ("45",), timeout=70)
        assert pre.returncode == 0, pre.stdout + pre.stderr
        ms.nodes[ip].stop()
        hook(ip, "stopped", was)
        ms.start_node(ip)
        wait_for(lambda: ms.node_ready(ip), 90, interval=0.25, what=f"data pod {ip} ready")
        hook(ip, "ready", was)
        steps.append(f"data {ip} ({was}): {time.monotonic() - t0:.1f}s " + pre.stderr.strip().splitlines()[-1][20:])
    for ip in reversed(ms.topo.sentinels):
        t0 = time.monotonic()
        ms.sentinel_procs[ip].stop()
        (root / f"sentinel-{ip}" / "work" / "sentinel.conf").unlink()
        ms.start_sentinel(ip)
        wait_for(lambda: ms.sentinel_ready(ip), 90, interval=0.25, what=f"sentinel {ip} ready")
        steps.append(f"sentinel {ip}: {time.monotonic() - t0:.1f}s")
    rolled = time.monotonic() - started
    master = ms.via(WRITE_PORT)
    wait_for(lambda: master and all(ms.sentinel_master(s) == master for s in ms.topo.sentinels)
             and ms._replicas_online_of(master) and ms._sentinels_know_replicas(), 60, interval=0.5,
             what="full health")
    return rolled, master, time.monotonic() - started


@pytest.mark.parametrize("roll", ["restart", "version"])
def test_rolling_restart_of_every_pod_loses_no_acknowledged_write(tmp_path, procs, roll):
    ms = MasterSet(procs, tmp_path, _addresses(30 if roll == "restart" else 40))
    ms.start_all()
    if roll == "version":
        new = tmp_path / "redis-7.2-bin"
        new.mkdir()
        for b in ("redis-server", "redis-sentinel"):
            shutil.copy2(shutil.which(b), new / b)
        ms.node_overrides = {"REDIS_SERVER_BIN": str(new / "redis-server")}
        ms.sentinel_overrides = {"SENTINEL_BIN": str(new / "redis-sentinel")}
    writer = Writer(ms)
    writer.start()
    steps = []
    try:
        wait_for(lambda: len(writer.acked) > 100, 20, what="writes before the roll")
        started = time.monotonic()
        rolled, master, healthy_after = roll_in_controller_order(ms, tmp_path, started, steps)
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 50, 20, what="writes after the roll")
    finally:
        writer.stop()
    lost = writer.lost_on(ms, master)
    print(f"\nsentinel {roll} roll of 3 data pods and 3 Sentinels: {len(writer.acked)} writes acknowledged, "
          f"{writer.refused} refused, {len(lost)} acknowledged lost; roll took {rolled:.1f}s, "
          f"full health {healthy_after:.1f}s after it began")
    print("\n".join(steps))
    assert lost == [], f"{len(lost)} acknowledged writes lost, first {lost[:5]}"
    # The master's preStop handed over: it ended as a replica.
    assert any("(master)" in s and "handover done" in s for s in steps), steps
    if roll == "version":
        for ip in ms.topo.redis:
            pid = ms.client(ip).info("server")["process_id"]
            assert os.readlink(f"/proc/{pid}/exe") == str(new / "redis-server")
        for ip in ms.topo.sentinels:
            pid = ms.client(ip, 26379).info("server")["process_id"]
            assert os.readlink(f"/proc/{pid}/exe") == str(new / "redis-sentinel")
