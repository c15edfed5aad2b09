"""Node-group migration of a live Sentinel master set with the migration
Job's script: new pods (another StatefulSet, as on the new node group) start
as replicas through the pod start script, one of them takes over as master
while a client keeps writing through HAProxy, and after the old pods are gone
the Sentinels forget them. Every key, and every write HAProxy acknowledged,
is still there at the end."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import redis

from components.operations.scripts import MIGRATE_SENTINEL
from components.haproxy.cfg import render_haproxy_cfg
from tests.integration.ops.helpers import run_ops
from tests.integration.procs import wait_for
from tests.integration.sentinel.harness import MASTER_SET, WRITE_PORT, MasterSet, haproxy_spec

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.1.200 - 127.0.1.210 (127.0.0.200-249 belong to bench).
IP = "127.0.1.{}".format
OLD = tuple(IP(200 + i) for i in range(3))
NEW = tuple(IP(203 + i) for i in range(3))


class Addresses:
    """The harness's Topology shape on this module's addresses: ``redis`` is
    the old generation (the one the master set starts with)."""

    redis = OLD
    sentinels = tuple(IP(206 + i) for i in range(3))
    haproxy = IP(209)


class TwoGenerations(MasterSet):
    """The master set with HAProxy listing both generations, as the
    component renders it during the replicas and promote steps."""

    def __init__(self, procs, root):
        super().__init__(procs, root, Addresses())
        spec = replace(haproxy_spec(self.topo), redis_hosts=OLD + NEW, nameservers=(f"{IP(210)}:5353",))
        self.haproxy_cfg = render_haproxy_cfg(spec)

    def sentinel_cmd(self, sentinel: str, *args):
        c = self.client(sentinel, 26379, decode_responses=True)
        try:
            return c.execute_command("SENTINEL", *args)
        finally:
            c.close()

    def sentinel_report(self) -> str:
        """Every Sentinel's full SENTINEL REPLICAS entries and the end of its
        log: what a failed check needs to find the cause."""
        out = []
        for s in self.topo.sentinels:
            for r in self.sentinel_cmd(s, "REPLICAS", MASTER_SET):
                fields = dict(zip(r[::2], r[1::2])) if isinstance(r, list) else r
                out.append(f"{s}: " + " ".join(f"{k}={fields[k]}" for k in (
                    "ip", "flags", "link-pending-commands", "last-ok-ping-reply", "last-ping-reply",
                    "down-after-milliseconds", "master-link-status", "master-host", "slave-repl-offset") if k in fields))
            log = self.root / f"sentinel-{s}" / "log"
            out += [f"{s} log: {ln}" for ln in log.read_text().splitlines()[-25:]]
        return "\n".join(out)

    def sentinel_replicas(self, sentinel: str) -> dict[str, str]:
        """host -> flags of the replicas ``sentinel`` knows."""
        out = {}
        for r in self.sentinel_cmd(sentinel, "REPLICAS", MASTER_SET):
            fields = dict(zip(r[::2], r[1::2])) if isinstance(r, list) else r
            out[fields["ip"]] = fields["flags"]
        return out


class Writer(threading.Thread):
    """Writes counter keys through HAProxy's write port and records which
    ones were acknowledged; failed writes are retried with the next key."""

    def __init__(self, ms: MasterSet):
        super().__init__(daemon=True)
        self.ms, self.acked, self.failed, self.done = ms, [], 0, threading.Event()

    def run(self) -> None:
        i, c = 0, None
        deadline = time.monotonic() + 120
        while not self.done.is_set() and time.monotonic() < deadline:
            i += 1
            try:
                c = c or self.ms.client(self.ms.topo.haproxy, WRITE_PORT)
                c.set(f"live:{i}", i)
                self.acked.append(i)
            except redis.RedisError:
                self.failed += 1
                c = None
                time.sleep(0.05)


def script_env(ms: MasterSet, step: str) -> dict[str, str]:
    return {"STEP": step, "OLD_NODES": " ".join(OLD), "NEW_NODES": " ".join(NEW), "SENTINEL_HOSTS": " ".join(ms.topo.sentinels),
            "MASTER_SET": MASTER_SET, **ms.auth_env, "WAIT_TIMEOUT": "60", "PAUSE_SECONDS": "10"}


def test_sentinel_migration_to_a_new_node_group(tmp_path, procs):
    ms = TwoGenerations(procs, tmp_path)
    ms.start_all()
    items = {f"cart:{i}": f"items-{i}" for i in range(3000)}
    front = ms.client(ms.topo.haproxy, WRITE_PORT)
    for start in range(0, len(items), 500):
        front.mset(dict(list(items.items())[start:start + 500]))
    # The new StatefulSet's pods run the same start script: they ask the
    # Sentinels for the master and follow it.
    for ip in NEW:
        ms.start_node(ip)

    timings = {}
    started = time.monotonic()
    assert run_ops(MIGRATE_SENTINEL, script_env(ms, "replicas")).returncode == 0
    timings["replicas"] = time.monotonic() - started
    for s in ms.topo.sentinels:
        assert set(ms.sentinel_replicas(s)) == set(OLD[1:] + NEW), s
    assert all(ms.role(ip) == "slave" for ip in NEW)

    writer = Writer(ms)
    writer.start()
    time.sleep(1)
    started = time.monotonic()
    promote = run_ops(MIGRATE_SENTINEL, script_env(ms, "promote"))
    timings["promote"] = time.monotonic() - started
    time.sleep(1)
    writer.done.set()
    writer.join(10)
    assert promote.returncode == 0
    masters = {ms.sentinel_master(s) for s in ms.topo.sentinels}
    assert len(masters) == 1 and masters <= set(NEW), masters
    (master,) = masters
    assert ms.role(master) == "master"
    # Every Sentinel ended the failover before the step did (the leader's own
    # record moves last; a SENTINEL RESET before that resets it to the old master).
    for s in ms.topo.sentinels:
        reply = ms.sentinel_cmd(s, "MASTER", MASTER_SET)
        record = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
        assert record["ip"] == master and "failover_in_progress" not in record["flags"], (s, record)
    for ip in OLD:
        assert ms.client(ip).config_get("replica-priority")["replica-priority"] == "0"
    new_master = ms.client(master, decode_responses=True)
    assert new_master.mget(list(items)) == list(items.values())
    assert writer.acked, "no write went through HAProxy during the promotion"
    lost = [i for i, v in zip(writer.acked, new_master.mget([f"live:{i}" for i in writer.acked])) if v != str(i)]
    assert lost == [], f"acknowledged writes lost: {lost[:10]}"
    # HAProxy's write port follows the Sentinels to the new pod.
    wait_for(lambda: ms.via(WRITE_PORT) == master, 15, what="haproxy write port reaching the new master")

    # The retire `pulumi up` deletes the old StatefulSet.
    for ip in OLD:
        ms.nodes[ip].stop()
    started = time.monotonic()
    retire = run_ops(MIGRATE_SENTINEL, script_env(ms, "retire"))
    assert retire.returncode == 0, f"{retire.stdout[-2000:]}\n{ms.sentinel_report()}"
    timings["retire"] = time.monotonic() - started
    for s in ms.topo.sentinels:
        assert ms.sentinel_master(s) == master
        known = ms.sentinel_replicas(s)
        clean = set(known) == set(NEW) - {master} and all("down" not in flags for flags in known.values())
        assert clean, f"sentinel {s} after retire: {known}\n{ms.sentinel_report()}"
    # Running a step again changes nothing.
    assert run_ops(MIGRATE_SENTINEL, script_env(ms, "retire")).returncode == 0
    assert new_master.mget(list(items)) == list(items.values())
    print(f"writes during promote: {len(writer.acked)} acknowledged, {writer.failed} refused; "
          + "steps took " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
