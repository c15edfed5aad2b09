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

import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

from bench import defaults, rbench
from bench.recovery import Probe, emit_median, outage
from bench.result import Result, emit, log
from components.redis.sentinel_conf import render_sentinel_conf
from tests.integration.procs import ProcGroup, port_open, require, wait_for
from tests.integration.sentinel.harness import MASTER_SET, NODES, WRITE_PORT, MasterSet, Topology, haproxy_spec


PIPELINED_REQUEST_FACTOR = 2
# The proxy comparison: the seed's concurrency and a pooled application's.
PROXY_CLIENTS = (rbench.CLIENTS, 50)
PROXY_TESTS = ("SET", "GET")
# At -c 50 each round is over in a blink at -n; more requests keep it measurable.
PROXY_REQUEST_FACTOR = {rbench.CLIENTS: 1, 50: 4}
PYCLIENT_PROCESSES = rbench.CLIENTS
# redis-py sends ~10x fewer requests per second than redis-benchmark.
PYCLIENT_REQUEST_DIVISOR = 10


def minimal_haproxy_cfg(master: str, bind: str, nbthread: int | None = None) -> str:
    """The physical hop alone: TCP, one server, no checks, no logs, HAProxy's
    own defaults for everything else (threads: one per CPU it may run on,
    unless ``nbthread``). Same client timeouts as the generated config, which
    never fire during a run."""
    threads = [f"    nbthread {nbthread}"] if nbthread else []
    return "\n".join([
        "global", "    maxconn 4096", *threads,
        "defaults", "    mode tcp", "    timeout connect 3s", "    timeout client 3600s", "    timeout server 3600s",
        "frontend redis", f"    bind {bind}:6379", "    default_backend master",
        "backend master", f"    server master {master}:6379", "",
    ])


def start_minimal_haproxy(group: ProcGroup, root: Path, master: str, ip: str,
                          nbthread: int | None = None) -> rbench.Target:
    cfg = root / f"minimal-haproxy-{ip}.cfg"
    cfg.write_text(minimal_haproxy_cfg(master, ip, nbthread))
    group.start([require("haproxy"), "-db", "-f", str(cfg)], root / f"minimal-haproxy-{ip}.log")
    wait_for(lambda: port_open(ip, 6379), 10, what="minimal haproxy")
    return rbench.Target(ip)


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


def throughput(ms: MasterSet, plan: rbench.Plan, group: ProcGroup | None = None) -> None:
    master = ms.via(WRITE_PORT)
    # As an application: the deployment's app user, through HAProxy or directly.
    front = rbench.Target(ms.topo.haproxy, WRITE_PORT, ms.passwords["app"], user="app")
    direct = rbench.Target(master, 6379, ms.passwords["app"], user="app")
    log(f"section 2: HAProxy write port {ms.topo.haproxy}:{WRITE_PORT} vs the master {master} directly")
    rbench.compare("haproxy", front, direct, f"direct to the master ({master}), same password", plan)
    # Pipelined tests finish in a fraction of a second at -n; more requests keep them measurable.
    rbench.compare("haproxy_pipelined", front, direct, f"direct to the master ({master}), same password",
                   plan.times(PIPELINED_REQUEST_FACTOR), pipeline=rbench.PIPELINE)
    if group is not None:
        proxy_baseline(ms, plan, group, master, front, direct)
        sentinel_client(ms, plan, master)


def proxy_baseline(ms: MasterSet, plan: rbench.Plan, group: ProcGroup, master: str,
                   front: rbench.Target, direct: rbench.Target) -> None:
    """How much of the HAProxy cost is the hop and how much the generated config."""
    minimal = rbench.Target(start_minimal_haproxy(group, ms.root, master, defaults.MINIMAL_HAPROXY_IP).host,
                            6379, ms.passwords["app"], user="app")
    # The generated config pins nbthread to the pod's CPU limit (1); the same
    # minimal proxy on one thread separates that from everything else in it
    # (checks, ACLs, the Sentinel gate, logging, resolvers).
    generated_threads = haproxy_spec(ms.topo).nbthread
    one = start_minimal_haproxy(group, ms.root, master, defaults.MINIMAL_1THREAD_HAPROXY_IP, generated_threads)
    minimal_1t = rbench.Target(one.host, 6379, ms.passwords["app"], user="app")
    log(f"section 2: minimal TCP haproxy {minimal.host} (one server, no checks; {minimal_1t.host} with "
        f"nbthread {generated_threads}) next to direct and generated")
    sides = {"direct": direct, "minimal": minimal, "minimal_1thread": minimal_1t, "generated": front}
    for clients in PROXY_CLIENTS:
        got = rbench.compare_many(sides, PROXY_TESTS, plan.times(PROXY_REQUEST_FACTOR[clients]), clients)
        for test, by in got.items():
            base = {"requests": plan.requests * PROXY_REQUEST_FACTOR[clients], "clients": clients,
                    "rounds": plan.rounds, **{f"{n}_rounds_rps": [round(x) for x in by[n][1]] for n in by}}
            for name, (num, den, den_is) in {
                "minimal_vs_direct": ("minimal", "direct", f"direct to the master ({master}), same password"),
                "generated_vs_minimal": ("generated", "minimal",
                                         "the same master through a minimal TCP-only haproxy (one server, no checks)"),
                "generated_vs_direct": ("generated", "direct", f"direct to the master ({master}), same password"),
                "generated_vs_minimal_1thread": ("generated", "minimal_1thread",
                                                 f"the minimal haproxy with the generated config's nbthread {generated_threads}"),
            }.items():
                emit(Result(f"haproxy_hop.c{clients}.{test}.{name}", by[num][0], "requests/s", by[den][0],
                            by[num][2], by[den][2], den_is, {**base, "commands": [by[n][2] for n in by]}))


def pyclient_rate(ms: MasterSet, path: str, test: str, requests: int) -> tuple[float, str]:
    """(requests/s, shown command) of PYCLIENT_PROCESSES concurrent redis-py processes."""
    env = {**os.environ, "BENCH_USER": "app", "BENCH_PASSWORD": ms.passwords["app"], "BENCH_MASTER_SET": MASTER_SET,
           "BENCH_SENTINELS": ",".join(f"{s}:26379" for s in ms.topo.sentinels)}
    if path == "haproxy":
        env.update(BENCH_HOST=ms.topo.haproxy, BENCH_PORT=str(WRITE_PORT))
    else:
        env.update(BENCH_HOST=ms.via(WRITE_PORT) or "", BENCH_PORT="6379")
    argv = [sys.executable, "-m", "bench.pyclient", path, test, str(requests)]
    procs = [subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(PYCLIENT_PROCESSES)]
    for p in procs:
        # Blocks until that process has connected; a failed one closes stdout
        # and its error is reported below.
        p.stdout.readline()
    for p in procs:
        try:
            p.stdin.write("go\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
    done = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise rbench.BenchError(f"{shlex.join(argv)} failed: {err[-500:]}")
        done.append(json.loads(out.strip().splitlines()[-1]))
    # Each process's own timed loop; the slowest bounds the aggregate.
    rps = sum(d["requests"] for d in done) / max(d["seconds"] for d in done)
    return rps, f"{PYCLIENT_PROCESSES} x python -m bench.pyclient {path} {test} {requests}"


def sentinel_client(ms: MasterSet, plan: rbench.Plan, master: str) -> None:
    """The path a Sentinel-aware client takes (ask the Sentinels, then talk to
    the master directly) next to the same client direct and through the
    generated HAProxy: redis-py on every side, since redis-benchmark cannot
    ask Sentinels."""
    requests = max(100, plan.requests // PYCLIENT_REQUEST_DIVISOR)
    log(f"section 2: redis-py via Sentinel, via HAProxy, direct; {PYCLIENT_PROCESSES} processes x {requests}")
    for test in PROXY_TESTS:
        rounds: dict[str, list[float]] = {"direct": [], "sentinel": [], "haproxy": []}
        cmds: dict[str, str] = {}
        names = list(rounds)
        for r in range(plan.rounds):
            k = r % len(names)
            for path in names[k:] + names[:k]:
                rps, cmds[path] = pyclient_rate(ms, path, test, requests)
                rounds[path].append(rps)
        med = {n: statistics.median(v) for n, v in rounds.items()}
        extra = {"requests_per_process": requests, "processes": PYCLIENT_PROCESSES, "rounds": plan.rounds,
                 "client": f"redis-py {__import__('redis').__version__}",
                 **{f"{n}_rounds_rps": [round(x) for x in v] for n, v in rounds.items()}}
        direct_is = f"the same redis-py client direct to the master ({master})"
        emit(Result(f"pyclient.c{PYCLIENT_PROCESSES}.{test}.sentinel_vs_direct", med["sentinel"], "requests/s",
                    med["direct"], cmds["sentinel"], cmds["direct"], direct_is, extra))
        emit(Result(f"pyclient.c{PYCLIENT_PROCESSES}.{test}.haproxy_vs_direct", med["haproxy"], "requests/s",
                    med["direct"], cmds["haproxy"], cmds["direct"], direct_is, extra))
        emit(Result(f"pyclient.c{PYCLIENT_PROCESSES}.{test}.sentinel_vs_haproxy", med["sentinel"], "requests/s",
                    med["haproxy"], cmds["sentinel"], cmds["haproxy"],
                    "the same redis-py client through the generated HAProxy write port", extra))
        log(f"redis-py {test}: direct {med['direct']:,.0f}, sentinel {med['sentinel']:,.0f}, "
            f"haproxy {med['haproxy']:,.0f} requests/s")


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
            throughput(ms, plan, group)
        if recovery_too:
            recovery(ms, runs)
    finally:
        group.stop_all()
