"""Section 6 ``memory``: peak RSS of a full node while it forks, as a share of
its memory limit, to choose ``maxmemoryFraction`` from data.

One node per size preset runs on the generated redis.conf (started by
sentinel-redis-start.sh, as in section 1). The presets' limits (1, 4, 12 GiB)
are divided by the factors in ``FULL["scale"]`` (256, 512, 768 MiB), so each
fits this shared 24 GiB machine next to its replica and the other engineers'
tests and the sweep ends in minutes; maxmemory is the fraction of that
scaled limit, exactly as ``maxmemory_bytes`` computes it. Why the ratio
survives the scaling: a fork lasts as long as the child needs to write the
dataset (proportional to its size), a writer at a fixed rate dirties pages in
proportion to that time, so the share of the dataset copied on write is
rate / save speed whatever the size. What does not scale is the empty node's
own RSS (a few MiB), which is a larger share of a small scaled limit: the
scaled figures overstate, never understate, the real presets' ratio.

The node is filled to 99 % of maxmemory with incompressible values of the
seed's size (100 bytes; compressible ones would make the RDB child faster and
the copy-on-write smaller), then, while a writer overwrites random existing
keys at a stated rate, three forks run one after another: BGSAVE, BGREWRITEAOF
and a full sync to a new replica (diskless, as rendered). Automatic saves and
rewrites are switched off for the measurement so only those three fork.

Peak memory of one fork = the server's peak RSS during it (``VmHWM`` after
resetting it through ``/proc/<pid>/clear_refs``) + the fork child's private
pages at their largest (``Private_Clean + Private_Dirty`` of
``/proc/<child>/smaps_rollup``, sampled every ``SAMPLE_S``, and never less than
Redis's own ``*_last_cow_size``). The child's shared pages are the parent's
memory, already counted; a page becomes the child's alone when the parent
writes to it (copy-on-write), and that is the extra memory a fork costs. The
two peaks need not coincide, so their sum is an upper bound: what a cgroup
limit must leave room for.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench import defaults
from bench.result import Result, emit, log
from components.redis.conf import DEFAULT_MAXMEMORY_FRACTION, maxmemory_bytes, render_redis_conf
from components.redis.sentinel_scripts import REDIS_START, script_path
from stacks.config.redis import PRESETS
from tests.integration.procs import Proc, ProcGroup, require, wait_for

MiB = 1 << 20
VALUE_SIZE = 100  # the seed's redis-benchmark -d
FILL_SHARE = 0.99  # of maxmemory; the rest lets overwrites of same-size values through noeviction
PEAK_LIMIT = 0.9  # the rule: peak RSS at most this share of the limit
SAMPLE_S = 0.01
EVENTS = ("bgsave", "aofrewrite", "fullsync")
# Limits divided by these: 256, 512 and 768 MiB. Each preset is measured at
# its own size, and the smallest stays large enough that the empty node's RSS
# (about 12 MiB) is under 5 % of it.
FULL = {"scale": {"small": 4, "medium": 8, "large": 16}, "fractions": (0.6, 0.7, 0.8, 0.9), "rates": (1_000, 5_000)}
QUICK = {"scale": {"small": 16}, "fractions": (0.7,), "rates": (1_000,)}
# The rate the proposal must hold at: 1,000 overwrites/s of 100-byte values
# (~100 KB/s), a steady session/cache load; 5,000/s shows how fast it degrades.
STATED_RATE = 1_000
EVENT_TIMEOUT_S = 300
FILL_LUA = ("local n = #ARGV for i = tonumber(KEYS[1]), tonumber(KEYS[2]) - 1 do "
            "redis.call('SET', 'key:' .. i, ARGV[(i % n) + 1]) end return 1")
TRIM_LUA = ("for i = tonumber(KEYS[1]), tonumber(KEYS[2]) - 1 do redis.call('DEL', 'key:' .. i) end return 1")
# Share of the writer's commands that may be refused before a figure is void:
# a node refusing writes dirties no pages and would pass for a cheap fork.
MAX_WRITE_ERRORS = 0.001


# -- /proc ---------------------------------------------------------------------------------------

def _kib_fields(path: Path, names: tuple[str, ...]) -> dict[str, int]:
    out = {}
    try:
        for line in path.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in names:
                out[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass  # the child exited between listing and reading
    return out


def status_kib(pid: int) -> dict[str, int]:
    return _kib_fields(Path(f"/proc/{pid}/status"), ("VmRSS", "VmHWM"))


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def private_kib(pid: int) -> int:
    """Pages only this process maps: for a fork child, what copy-on-write has cost."""
    f = _kib_fields(Path(f"/proc/{pid}/smaps_rollup"), ("Private_Clean", "Private_Dirty"))
    return f.get("Private_Clean", 0) + f.get("Private_Dirty", 0)


def reset_peak(pid: int) -> None:
    """VmHWM := VmRSS (Linux >= 4.0), so the next VmHWM is this event's peak."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Sample:
    """What a sampler saw while it ran."""

    steady_kib: int = 0
    parent_peak_kib: int = 0
    child_private_peak_kib: int = 0
    coincident_peak_kib: int = 0
    children_seen: set[int] = field(default_factory=set)
    samples: int = 0


class Sampler(threading.Thread):
    """Polls the server's RSS and its children's private pages every SAMPLE_S."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.result, self._halt = pid, Sample(), threading.Event()

    def run(self) -> None:
        r = self.result
        while not self._halt.is_set():
            rss = status_kib(self.pid).get("VmRSS", 0)
            kids = children(self.pid)
            private = sum(private_kib(c) for c in kids)
            r.children_seen.update(kids)
            r.parent_peak_kib = max(r.parent_peak_kib, rss)
            r.child_private_peak_kib = max(r.child_private_peak_kib, private)
            r.coincident_peak_kib = max(r.coincident_peak_kib, rss + private)
            r.samples += 1
            self._halt.wait(SAMPLE_S)

    def stop(self) -> Sample:
        self._halt.set()
        self.join(timeout=10)
        return self.result


# -- load ----------------------------------------------------------------------------------------

class Writer(threading.Thread):
    """Overwrites random existing keys with same-size values at ``rate`` per
    second: pipelined batches every 10 ms, paced by a deadline so a slow batch
    is caught up, never skipped."""

    TICK_S = 0.01

    def __init__(self, client: redis.Redis, rate: int, keys: int, values: list[bytes]):
        super().__init__(daemon=True)
        self.client, self.rate, self.keys, self.values = client, rate, keys, values
        self.acked = self.errors = 0
        self.started = self.ended = 0.0
        self._halt = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        rng = random.Random(18)
        self.started = time.monotonic()
        due = 0.0
        try:
            while not self._halt.is_set():
                elapsed = time.monotonic() - self.started
                want = int(elapsed * self.rate) - (self.acked + self.errors)
                if want > 0:
                    pipe = self.client.pipeline(transaction=False)
                    for _ in range(min(want, self.rate)):
                        pipe.set(f"key:{rng.randrange(self.keys)}", self.values[rng.randrange(len(self.values))])
                    for reply in pipe.execute(raise_on_error=False):
                        if isinstance(reply, Exception):
                            self.errors += 1
                        else:
                            self.acked += 1
                due += self.TICK_S
                self._halt.wait(max(0.0, self.started + due - time.monotonic()))
        except redis.RedisError as exc:
            self.error = exc
        self.ended = time.monotonic()

    def stop(self) -> float:
        """Achieved rate (acknowledged writes per second)."""
        self._halt.set()
        self.join(timeout=30)
        if self.error:
            raise RuntimeError(f"writer failed: {self.error}")
        return self.acked / max(self.ended - self.started, 1e-9)


def incompressible_values(n: int = 64) -> list[bytes]:
    return [os.urandom(VALUE_SIZE) for _ in range(n)]


def fill(client: redis.Redis, target_used: int, start_key: int, values: list[bytes]) -> int:
    """Add keys key:<start_key>... until used_memory reaches ``target_used``;
    returns the number of keys now held. Lua batches: ~10x redis-py's pipeline."""
    sha = client.script_load(FILL_LUA)
    n = start_key
    batch = 20_000
    for _ in range(100_000):  # bounded: far more batches than any preset needs
        used = client.info("memory")["used_memory"]
        if used >= target_used:
            break
        per_key = 200 if n == 0 else max(100, used / n)
        step = max(1, min(batch, int((target_used - used) / per_key)))
        client.evalsha(sha, 2, n, n + step, *values)
        n += step
    # A hash table doubling near the end overshoots (a script runs past
    # maxmemory); trim back, or noeviction refuses every overwrite.
    for _ in range(10_000):
        used = client.info("memory")["used_memory"]
        if used <= target_used or n == 0:
            break
        step = max(1, min(batch, int((used - target_used) / 100)))
        client.eval(TRIM_LUA, 2, n - step, n)
        n -= step
    return n


# -- one node ------------------------------------------------------------------------------------

@dataclass
class Node:
    proc: Proc
    client: redis.Redis
    password: str
    pid: int
    conf: str
    limit_bytes: int
    directory: Path


def start_node(group: ProcGroup, root: Path, preset: str, scale: int, fraction: float,
               ip: str = defaults.MEMORY_NODE_IP) -> Node:
    d = root / f"memory-{preset}"
    shutil.rmtree(d, ignore_errors=True)
    (d / "data").mkdir(parents=True)
    limit = PRESETS[preset].memory_bytes // scale
    spec = defaults.redis_conf_spec("sentinel", ip, d / "data", d / "run" / "runtime.conf", size=preset,
                                    memory_limit_bytes=limit, maxmemory_fraction=fraction)
    conf = render_redis_conf(spec)
    (d / "redis.conf").write_text(conf)
    password = secrets.token_urlsafe(18)
    env = defaults.lone_node_env(ip, d, password)
    proc = group.start([require("dash"), str(script_path(REDIS_START))], d / "log", env=env)
    client = redis.Redis(host=ip, username="admin", password=password, socket_timeout=EVENT_TIMEOUT_S)
    wait_for(lambda: client.info("replication")["role"] == "master", 30, what="redis on the generated config, as master")
    pid = int(client.info("server")["process_id"])
    return Node(proc, client, password, pid, conf, limit, d)


def quiet_forks(client: redis.Redis) -> None:
    """Only the forks the bench starts: no save rule or size-triggered rewrite
    may fork in between (the rendered rules would, during the fill)."""
    client.config_set("save", "")
    client.config_set("auto-aof-rewrite-percentage", "0")


def no_child(node: Node) -> bool:
    p = node.client.info("persistence")
    return not (p["rdb_bgsave_in_progress"] or p["aof_rewrite_in_progress"] or children(node.pid))


def run_event(node: Node, event: str, group: ProcGroup, root: Path) -> dict:
    """Trigger one fork and wait until it is over; what it cost."""
    wait_for(lambda: no_child(node), EVENT_TIMEOUT_S, interval=0.05, what="no fork running")
    steady = Sampler(node.pid)
    steady.start()
    time.sleep(0.5)
    steady_kib = steady.stop().parent_peak_kib
    cow_key = "aof_last_cow_size" if event == "aofrewrite" else "rdb_last_cow_size"
    cow_before = node.client.info("persistence").get(cow_key, 0)
    reset_peak(node.pid)
    sampler = Sampler(node.pid)
    sampler.start()
    started = time.monotonic()
    replica = None
    try:
        if event == "bgsave":
            node.client.bgsave()
        elif event == "aofrewrite":
            node.client.bgrewriteaof()
        else:
            replica = start_replica(node, group, root)
        if event == "fullsync":
            wait_for(lambda: replica_online(node), EVENT_TIMEOUT_S, interval=0.05, what="replica in sync")
        wait_for(lambda: no_child(node), EVENT_TIMEOUT_S, interval=0.02, what=f"{event} finished")
        seconds = time.monotonic() - started
    finally:
        sample = sampler.stop()
        if replica is not None:
            replica.stop()
    hwm = status_kib(node.pid).get("VmHWM", 0)
    cow_after = node.client.info("persistence").get(cow_key, 0)
    # Unchanged means this fork did not report (yet): the previous fork's
    # figure must not stand in for it.
    redis_cow = 0 if cow_after == cow_before else cow_after // 1024
    child_kib = max(sample.child_private_peak_kib, redis_cow)
    parent_kib = max(hwm, sample.parent_peak_kib)
    return {"event": event, "seconds": round(seconds, 2), "steady_mib": round(steady_kib / 1024, 1),
            "parent_peak_mib": round(parent_kib / 1024, 1), "child_private_peak_mib": round(child_kib / 1024, 1),
            "sampled_child_private_mib": round(sample.child_private_peak_kib / 1024, 1),
            "redis_cow_mib": round(redis_cow / 1024, 1), "coincident_peak_mib": round(sample.coincident_peak_kib / 1024, 1),
            "peak_mib": round((parent_kib + child_kib) / 1024, 1), "children_seen": len(sample.children_seen),
            "samples": sample.samples}


def start_replica(node: Node, group: ProcGroup, root: Path) -> Proc:
    """A bare replica: its own memory is another pod's and is not measured."""
    d = root / "memory-replica"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return group.start([require("redis-server"), "--bind", defaults.MEMORY_REPLICA_IP, "--port", "6379",
                        "--save", "", "--appendonly", "no", "--dir", str(d), "--masteruser", "replication",
                        "--masterauth", node.password,
                        "--replicaof", defaults.MEMORY_NODE_IP, "6379"], d / "log")


def replica_online(node: Node) -> bool:
    info = node.client.info("replication")
    return info.get("slave0", {}).get("state") == "online"


def shown_command(event: str, rate: int) -> str:
    trigger = {"bgsave": "BGSAVE", "aofrewrite": "BGREWRITEAOF",
               "fullsync": f"redis-server --replicaof {defaults.MEMORY_NODE_IP} 6379 (a new replica, diskless full sync)"}
    return f"{trigger[event]} while SET key:<random existing> <{VALUE_SIZE} random bytes> at {rate}/s"


# -- the section ---------------------------------------------------------------------------------

def measure_preset(group: ProcGroup, root: Path, preset: str, cfg: dict) -> dict[tuple[float, int], float]:
    """Peak/limit per (fraction, rate). One node per preset, filled further for
    each higher fraction (maxmemory raised by CONFIG SET: the only line of the
    rendered config that differs between fractions)."""
    fractions, scale = sorted(cfg["fractions"]), cfg["scale"][preset]
    node = start_node(group, root, preset, scale, fractions[0])
    values = incompressible_values()
    ratios: dict[tuple[float, int], float] = {}
    try:
        quiet_forks(node.client)
        empty_kib = status_kib(node.pid)["VmRSS"]
        keys = 0
        # The replication backlog is allocated when the first replica connects
        # and counts toward maxmemory: room for it, or overwrites get OOM after
        # the first full sync.
        backlog = int(node.client.config_get("repl-backlog-size")["repl-backlog-size"])
        for fraction in fractions:
            maxmemory = maxmemory_bytes(node.limit_bytes, fraction)
            node.client.config_set("maxmemory", maxmemory)
            t0 = time.monotonic()
            keys = fill(node.client, int(maxmemory * FILL_SHARE) - backlog, keys, values)
            dataset_mib = node.client.info("memory")["used_memory"] / MiB
            mem = node.client.info("memory")
            log(f"memory {preset} (limit {node.limit_bytes / MiB:.0f} MiB) fraction {fraction}: {keys:,} keys, "
                f"used {mem['used_memory'] / MiB:.0f} MiB, rss {mem['used_memory_rss'] / MiB:.0f} MiB "
                f"(filled in {time.monotonic() - t0:.0f}s)")
            for rate in cfg["rates"]:
                writer = Writer(redis.Redis(host=defaults.MEMORY_NODE_IP, username="app", password=node.password,
                                            socket_timeout=30),
                                rate, keys, values)
                writer.start()
                try:
                    events = [run_event(node, e, group, root) for e in EVENTS]
                finally:
                    achieved = writer.stop()
                if writer.errors > MAX_WRITE_ERRORS * max(1, writer.acked + writer.errors):
                    raise RuntimeError(f"memory {preset} fraction {fraction} at {rate}/s: {writer.errors} of "
                                       f"{writer.acked + writer.errors} writes refused; the figure would be void")
                worst = max(events, key=lambda e: e["peak_mib"])
                limit_mib = node.limit_bytes / MiB
                ratios[(fraction, rate)] = worst["peak_mib"] / limit_mib
                emit(Result(
                    f"memory.{preset}.f{fraction:.2f}.w{rate}.peak", worst["peak_mib"], "MiB", limit_mib,
                    shown_command(worst["event"], rate),
                    f"memory limit: {PRESETS[preset].memory} / {scale}",
                    f"the container memory limit of a {preset} node, scaled by 1/{scale}",
                    {"preset": preset, "fraction": fraction, "maxmemory": maxmemory, "scale": scale,
                     "write_rate": rate, "achieved_write_rate": round(achieved), "write_errors": writer.errors,
                     "keys": keys, "value_size": VALUE_SIZE, "empty_node_rss_mib": round(empty_kib / 1024, 1),
                     "worst_event": worst["event"], "events": events,
                     # COW share ~ rate x pages per write x 4 KiB / save speed: how to carry this to another machine.
                     "bgsave_mib_per_s": round(dataset_mib / max(events[0]["seconds"], 1e-3), 1),
                     "commands": [shown_command(e, rate) for e in EVENTS]}))
                log(f"  {rate}/s (achieved {achieved:.0f}/s, {writer.errors} errors): " + "; ".join(
                    f"{e['event']} {e['peak_mib']:.0f} MiB (steady {e['steady_mib']:.0f}, child "
                    f"{e['child_private_peak_mib']:.0f}, {e['seconds']:.1f}s)" for e in events)
                    + f" -> {ratios[(fraction, rate)]:.2f} of the limit")
    finally:
        node.client.close()
        node.proc.stop()
    return ratios


def proposal(ratios: dict[tuple[float, int], float], rate: int) -> tuple[float | None, dict[str, float]]:
    """The highest fraction whose peak stays within PEAK_LIMIT at ``rate``
    (None when even the lowest swept does not), and the ratios it was chosen from."""
    at_rate = {f: r for (f, w), r in sorted(ratios.items()) if w == rate}
    ok = [f for f, r in at_rate.items() if r <= PEAK_LIMIT]
    return (max(ok) if ok else None), {f"{f:.2f}": round(r, 4) for f, r in at_rate.items()}


def run(root: Path, quick: bool = False) -> None:
    cfg = QUICK if quick else FULL
    stated = STATED_RATE if STATED_RATE in cfg["rates"] else max(cfg["rates"])
    log(f"section 6: peak RSS during BGSAVE, AOF rewrite and a full sync; presets scaled by {cfg['scale']}, "
        f"fractions {cfg['fractions']}, write rates {cfg['rates']}/s")
    group = ProcGroup()
    try:
        for preset in cfg["scale"]:
            ratios = measure_preset(group, root, preset, cfg)
            best, table = proposal(ratios, stated)
            # None: even the lowest fraction swept breaks the rule; the line
            # then carries that fraction and says so, value must stay positive.
            value = best if best is not None else min(cfg["fractions"])
            emit(Result(
                f"memory.{preset}.proposed_fraction", value, "fraction", DEFAULT_MAXMEMORY_FRACTION,
                f"highest maxmemoryFraction with peak RSS <= {PEAK_LIMIT} x limit at {stated} writes/s "
                f"(of {list(cfg['fractions'])})",
                "the current default (components/redis/conf.py DEFAULT_MAXMEMORY_FRACTION)",
                "the current default maxmemoryFraction",
                {"preset": preset, "write_rate": stated, "meets_rule": best is not None, "peak_ratio_by_fraction": table,
                 "commands": [shown_command(e, stated) for e in EVENTS]}))
            log(f"memory {preset}: proposed fraction {value} (peak/limit by fraction at {stated}/s: {table})")
    finally:
        group.stop_all()
