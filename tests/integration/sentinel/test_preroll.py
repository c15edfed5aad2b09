"""The pre-roll Job's script (sentinel-preroll.sh), fed the env the component
renders (sentinel_scripts.preroll_env), on a real master set (1 master + 2
replicas, 3 Sentinels, HAProxy):

- the master starts on the HIGHEST ordinal (the worst case for the
  controller's order); the pre-roll moves it to pod 0; then the version roll
  runs in the controller's order (data pods highest first: preStop, stop,
  start on a copied redis-server, readiness; then the Sentinels). Every
  replica restarts before the master, no replica on the old binary ever
  follows a master on the new one, and no acknowledged write is lost;
- refusal: pod 0 down -> one STOPPED line naming it, nothing moved.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from redis.exceptions import RedisError

from components.redis.sentinel_scripts import PREROLL, preroll_env
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import MASTER_SET, MasterSet, Topology, Writer, run_script
from tests.integration.sentinel.test_rolling import roll_in_controller_order

pytestmark = pytest.mark.integration


# This module's addresses: 127.0.14.150-169.
SUBNET = "127.0.14"


def _addresses(first: int) -> Topology:
    return Topology(subnet=SUBNET, first=first)


def run_preroll(ms: MasterSet, redis_hosts: tuple[str, ...] | None = None, wait_s: int = 30):
    """The Job: its rendered env (pod 0 first), the admin login, TLS env if any."""
    env = preroll_env(MASTER_SET, ms.topo.sentinels, redis_hosts or ms.topo.redis) | ms.auth_env | ms.tls_env() | {
        "PREROLL_WAIT_SECONDS": str(wait_s), "SENTINEL_QUERY_TIMEOUT": "1"}
    started = time.monotonic()
    result = run_script(PREROLL, env, timeout=wait_s * 4 + 60)
    print(f"--- pre-roll ({time.monotonic() - started:.1f}s, rc={result.returncode}) ---\n{result.stdout}{result.stderr}")
    return result, time.monotonic() - started


def majority_names(ms: MasterSet, host: str) -> bool:
    return sum(ms.sentinel_master(s) == host for s in ms.topo.sentinels) >= 2 and ms.role(host) == "master"


class FollowWatch(threading.Thread):
    """Every 100 ms, each data pod not yet rolled (and not the one being
    stopped): a replica following a rolled pod is recorded."""

    def __init__(self, ms: MasterSet):
        super().__init__(daemon=True)
        self.ms, self.done = ms, threading.Event()
        self.rolled: set[str] = set()
        self.rolling: str | None = None
        self.bad: list[tuple[str, str, str]] = []
        self.samples = 0

    def run(self) -> None:
        clients = {ip: self.ms.client(ip) for ip in self.ms.topo.redis}
        while not self.done.is_set():
            for ip, c in clients.items():
                if ip in self.rolled or ip == self.rolling:
                    continue
                try:
                    info = c.info("replication")
                except RedisError:
                    continue
                m = info.get("master_host")
                if info.get("role") == "slave" and m in self.rolled and ip not in self.rolled and ip != self.rolling:
                    self.bad.append((ip, m, str(info.get("master_link_status"))))
            self.samples += 1
            time.sleep(0.1)


def test_version_roll_after_the_preroll_restarts_every_replica_before_the_master(tmp_path, procs):
    ms = MasterSet(procs, tmp_path, _addresses(150))
    ms.start_all()
    top = ms.topo.redis[-1]
    # The worst start: the master on the highest ordinal (the same script,
    # with the pods listed highest first).
    moved, _ = run_preroll(ms, tuple(reversed(ms.topo.redis)))
    assert moved.returncode == 0
    wait_for(lambda: majority_names(ms, top) and ms._replicas_online_of(top), 30, what="master on the highest pod")
    new = tmp_path / "redis-new-bin"
    new.mkdir()
    for b in ("redis-server", "redis-sentinel"):
        shutil.copy2(shutil.which(b), new / b)
    writer = Writer(ms)
    watch = FollowWatch(ms)
    writer.start()
    steps, order = [], []
    try:
        wait_for(lambda: len(writer.acked) > 100, 20, what="writes before the pre-roll")
        started = time.monotonic()
        pre, preroll_took = run_preroll(ms)
        assert pre.returncode == 0
        pod0 = ms.topo.redis[0]
        assert majority_names(ms, pod0)
        # Priorities restored on the replica that was held back.
        assert ms.client(ms.topo.redis[1]).config_get("replica-priority")["replica-priority"] != "0"
        again, _ = run_preroll(ms)
        assert again.returncode == 0 and "nothing to move" in again.stderr
        ms.node_overrides = {"REDIS_SERVER_BIN": str(new / "redis-server")}
        ms.sentinel_overrides = {"SENTINEL_BIN": str(new / "redis-sentinel")}
        watch.start()
        def watch_roll(ip: str, phase: str, was: str) -> None:
            if phase == "stopping":
                order.append((ip, was))
                watch.rolling = ip
            elif phase == "stopped":
                watch.rolled.add(ip)
            else:
                watch.rolling = None

        rolled, master, healthy_after = roll_in_controller_order(ms, tmp_path, started, steps, watch_roll)
        n = len(writer.acked)
        wait_for(lambda: len(writer.acked) > n + 50, 20, what="writes after the roll")
    finally:
        watch.done.set()
        writer.stop()
    lost = writer.lost_on(ms, master)
    print(f"\nsentinel pre-roll + version roll (1+2, 3 Sentinels): {len(writer.acked)} writes acknowledged, "
          f"{writer.refused} refused, {len(lost)} lost; pre-roll {preroll_took:.1f}s, roll {rolled:.1f}s, "
          f"full health {healthy_after:.1f}s after the pre-roll began; follow samples {watch.samples}, "
          f"old replicas following a new master: {watch.bad}")
    print("\n".join(steps))
    assert lost == [], f"{len(lost)} acknowledged writes lost, first {lost[:5]}"
    assert watch.samples > 20 and watch.bad == []
    assert [was for _, was in order] == ["slave", "slave", "master"], order
    for ip in ms.topo.redis:
        pid = ms.client(ip).info("server")["process_id"]
        assert os.readlink(f"/proc/{pid}/exe") == str(new / "redis-server")


def test_refuses_in_one_line_when_pod_0_is_down(tmp_path, procs):
    ms = MasterSet(procs, tmp_path, _addresses(160))
    ms.start_all()
    top = ms.topo.redis[-1]
    moved, _ = run_preroll(ms, tuple(reversed(ms.topo.redis)))
    assert moved.returncode == 0
    wait_for(lambda: majority_names(ms, top), 30, what="master on the highest pod")
    pod0 = ms.topo.redis[0]
    ms.nodes[pod0].stop()
    result, took = run_preroll(ms, wait_s=3)
    stops = [ln for ln in result.stderr.splitlines() if "STOPPED" in ln]
    print(f"\nrefused after {took:.1f}s: {stops}")
    assert result.returncode == 1 and len(stops) == 1, result.stderr
    assert pod0 in stops[0] and "nothing was moved" in stops[0]
    assert majority_names(ms, top)
    assert ms.client(ms.topo.redis[1]).config_get("replica-priority")["replica-priority"] != "0"
