"""Sections 2 and 4 (Sentinel + HAProxy): the generated HAProxy write port vs
direct to the master, and seconds of refused writes through HAProxy after the
master is SIGKILLed.

The master set is tests.integration.sentinel.harness.MasterSet (pod scripts on
the rendered redis.conf, sentinel.conf and haproxy.cfg) on address block 19
(127.0.0.202-208), with one change: Sentinel gets the project's default
timeouts (down-after 5 s, failover-timeout 60 s) instead of the tests' short
ones.
"""

from __future__ import annotations

from pathlib import Path

from bench import defaults, rbench
from bench.recovery import Probe, emit_median, outage
from bench.result import log
from components.redis.sentinel_conf import render_sentinel_conf
from tests.integration.procs import ProcGroup, wait_for
from tests.integration.sentinel.harness import MASTER_SET, NODES, WRITE_PORT, MasterSet, Topology


PIPELINED_REQUEST_FACTOR = 2


class DefaultTimeoutsMasterSet(MasterSet):
    def sentinel_conf(self, ip: str) -> str:
        work = self.root / f"sentinel-{ip}" / "work"
        return render_sentinel_conf(defaults.sentinel_conf_spec(MASTER_SET, self.topo.redis[0], ip, work))


def start(group: ProcGroup, root: Path) -> DefaultTimeoutsMasterSet:
    ms = DefaultTimeoutsMasterSet(group, root / "sentinel", Topology(defaults.SENTINEL_BLOCK))
    ms.start_all()
    # The harness renders 64 MiB for its tests; the benchmark's keyspace needs
    # the size preset's maxmemory, as the generated config has.
    for ip in ms.topo.redis:
        raise_maxmemory(ms, ip)
    return ms


def raise_maxmemory(ms: MasterSet, ip: str) -> None:
    """Again after every restart: a node back on the harness's 64 MiB that is
    promoted later refuses every write with OOM (seen while building this)."""
    c = ms.client(ip)
    try:
        c.config_set("maxmemory", defaults.maxmemory())
    finally:
        c.close()


def throughput(ms: MasterSet, plan: rbench.Plan) -> None:
    master = ms.via(WRITE_PORT)
    front = rbench.Target(ms.topo.haproxy, WRITE_PORT, ms.password)
    direct = rbench.Target(master, 6379, ms.password)
    log(f"section 2: HAProxy write port {ms.topo.haproxy}:{WRITE_PORT} vs the master {master} directly")
    rbench.compare("haproxy", front, direct, f"direct to the master ({master}), same password", plan)
    # Pipelined tests finish in a fraction of a second at -n; more requests keep them measurable.
    rbench.compare("haproxy_pipelined", front, direct, f"direct to the master ({master}), same password",
                   plan.times(PIPELINED_REQUEST_FACTOR), pipeline=rbench.PIPELINE)


def settled(ms: MasterSet) -> bool:
    """HAProxy reaches a master that has every other node online as replica and
    that every Sentinel names."""
    master = ms.via(WRITE_PORT)
    if master is None:
        return False
    info = ms.client(master).info("replication")
    online = sum(info.get(f"slave{i}", {}).get("state") == "online" for i in range(NODES - 1))
    return (online == NODES - 1 and all(ms.sentinel_master(s) == master for s in ms.topo.sentinels)
            and all(sentinel_sees_replicas(ms, s) for s in ms.topo.sentinels))


def sentinel_sees_replicas(ms: MasterSet, sentinel_ip: str) -> bool:
    """The Sentinel knows every replica and flags none down or disconnected:
    only such replicas are candidates for the next failover."""
    c = ms.client(sentinel_ip, 26379, decode_responses=True)
    try:
        replicas = c.execute_command("SENTINEL", "REPLICAS", MASTER_SET)
    finally:
        c.close()
    flags = [r["flags"] if isinstance(r, dict) else dict(zip(r[::2], r[1::2]))["flags"] for r in replicas]
    return len(flags) == NODES - 1 and all(f == "slave" for f in flags)


def recovery(ms: MasterSet, runs: int) -> None:
    floor = defaults.sentinel_down_after_s()
    log(f"section 4: SIGKILL the master {runs} time(s); writes through HAProxy (down-after {floor}s)")
    outages, promoted = [], []
    for n in range(runs):
        victim = ms.via(WRITE_PORT)
        probe = Probe(lambda: ms.client(ms.topo.haproxy, WRITE_PORT), "bench:probe")
        # When the first Sentinel names another master: the failover is done,
        # what follows is HAProxy's checks catching up.
        named = {"sentinel_named_new_master": lambda: ms.sentinel_master(ms.topo.sentinels[0]) not in (victim, None)}
        result = outage(ms.nodes[victim].kill, probe, events=named)
        outages.append(result[probe.key])
        promoted.append(result.get("sentinel_named_new_master", float("nan")))
        log(f"run {n + 1}: killed {victim}; writes refused for {outages[-1]:.2f}s ({len(probe.failed)} refusals); "
            f"a Sentinel named the new master after {promoted[-1]:.2f}s; now {ms.via(WRITE_PORT)}")
        # Its start script asks the Sentinels and brings it back as a replica.
        ms.start_node(victim)
        raise_maxmemory(ms, victim)
        wait_for(lambda: settled(ms), 90, interval=0.25, what="master set settled after the restart")
    emit_median("recovery.sentinel_haproxy.write_outage", outages, floor,
                "sentinel down-after-milliseconds (detection alone)",
                "SIGKILL the master; SET through the HAProxy write port every 20 ms; "
                "seconds from the kill to the first acknowledged write",
                {"sentinel_named_new_master_s": [round(p, 3) for p in promoted],
                 "down_after_ms": int(floor * 1000),
                 "failover_timeout_ms": defaults.deployment("sentinel").sentinel.failover_timeout_ms})


def run(root: Path, plan: rbench.Plan, runs: int, throughput_too: bool = True, recovery_too: bool = True) -> None:
    group = ProcGroup()
    try:
        ms = start(group, root)
        if throughput_too:
            throughput(ms, plan)
        if recovery_too:
            recovery(ms, runs)
    finally:
        group.stop_all()
