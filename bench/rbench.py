"""redis-benchmark (Debian redis-tools) with the seed's options, one test at a time.

The seed (001) ran
``redis-benchmark -d 100 -n 1000000 -r 1000000 -c 3 -q -t PING_INLINE,SET,GET,INCR,LPUSH,RPUSH,LPOP,RPOP,HSET,MSET``.
Here each test runs on its own, in ROUNDS alternating rounds (baseline then
candidate, candidate then baseline, ...), and each side's figure is the median
of its rounds: a burst of load from another process then hits both sides of a
ratio, or is voted out, rather than deciding it.
"""

from __future__ import annotations

import csv
import shlex
import statistics
import subprocess
from dataclasses import dataclass

from bench.result import Result, emit, log

SEED_TESTS = ("PING_INLINE", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "HSET", "MSET")
SEED_REQUESTS = 1_000_000
DATA_SIZE, KEYSPACE, CLIENTS = 100, 1_000_000, 3
PIPELINE = 16
ROUNDS = 3
REDACTED = "***"


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Plan:
    """How much to run: redis-benchmark -n per invocation, alternating rounds per test."""

    requests: int
    rounds: int = ROUNDS

    def times(self, factor: int) -> "Plan":
        return Plan(self.requests * factor, self.rounds)


@dataclass(frozen=True)
class Target:
    """Where redis-benchmark connects, and how."""

    host: str
    port: int = 6379
    password: str | None = None
    cluster: bool = False
    # ACL user (a cluster deployment's app user); None: the default user.
    user: str | None = None


def argv(target: Target, test: str, requests: int, pipeline: int = 1, clients: int = CLIENTS) -> list[str]:
    out = ["redis-benchmark", "-h", target.host, "-p", str(target.port),
           "-d", str(DATA_SIZE), "-n", str(requests), "-r", str(KEYSPACE), "-c", str(clients), "--csv", "-t", test]
    if pipeline > 1:
        out += ["-P", str(pipeline)]
    if target.cluster:
        out.append("--cluster")
    if target.password:
        # redis-benchmark reads no REDISCLI_AUTH; the password is a throwaway
        # made for this run and is redacted wherever the command is shown.
        out += ["-a", target.password]
        if target.user:
            out += ["--user", target.user]
    return out


def shown(args: list[str]) -> str:
    """The command as printed: the value after -a replaced."""
    out = list(args)
    if "-a" in out:
        out[out.index("-a") + 1] = REDACTED
    return shlex.join(out)


def requests_per_second(target: Target, test: str, requests: int, pipeline: int = 1,
                        clients: int = CLIENTS) -> tuple[float, str]:
    """(requests/s, shown command) of one redis-benchmark test."""
    args = argv(target, test, requests, pipeline, clients)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=max(120, requests / 2000))
    # An error reply is answered fast and would pass for throughput.
    if proc.returncode != 0 or "error" in proc.stderr.lower():
        raise BenchError(f"{shown(args)} failed (rc={proc.returncode}): {proc.stderr.strip()[-500:]}")
    for row in csv.reader(proc.stdout.splitlines()):
        if row and row[0].split()[0].upper() == test:
            return float(row[1]), shown(args)
    raise BenchError(f"{shown(args)} printed no row for {test}: {proc.stdout.strip()[-300:]}")


def compare(prefix: str, target: Target, baseline: Target, baseline_is: str, plan: Plan,
            pipeline: int = 1, tests: tuple[str, ...] = SEED_TESTS) -> list[Result]:
    """Every test in alternating rounds; one Result per test (medians) plus their mean."""
    requests, rounds = plan.requests, plan.rounds
    results = []
    for test in tests:
        runs: dict[str, list[float]] = {"target": [], "baseline": []}
        cmds = {}
        for r in range(rounds):
            order = (("baseline", baseline), ("target", target))
            for side, where in order if r % 2 == 0 else reversed(order):
                rps, cmds[side] = requests_per_second(where, test, requests, pipeline)
                runs[side].append(rps)
        rps, base_rps = statistics.median(runs["target"]), statistics.median(runs["baseline"])
        # elapsed_s lets a reader judge a figure: redis-benchmark --cluster
        # (threaded) only notices the end on its 250 ms timer.
        extra = {"requests": requests, "pipeline": pipeline, "rounds": rounds, "elapsed_s": round(requests / rps, 3),
                 "rounds_rps": [round(x) for x in runs["target"]], "baseline_rounds_rps": [round(x) for x in runs["baseline"]]}
        results.append(emit(Result(f"{prefix}.{test}", rps, "requests/s", base_rps, cmds["target"], cmds["baseline"],
                                   baseline_is, extra)))
        log(f"{prefix}.{test}: {rps:,.0f} vs {base_rps:,.0f} requests/s ({rps / base_rps:.2f}); "
            f"rounds {[round(x / 1000) for x in runs['target']]}k vs {[round(x / 1000) for x in runs['baseline']]}k")
    mean = sum(r.value for r in results) / len(results)
    base_mean = sum(r.baseline for r in results) / len(results)
    # The mean of rates is dominated by the fastest tests; the geometric mean
    # of the ratios weighs every command alike.
    geomean = statistics.geometric_mean([r.ratio for r in results])
    results.append(emit(Result(f"{prefix}.mean", mean, "requests/s", base_mean,
                               f"mean of the {len(results)} {prefix}.* tests", "mean of their baselines", baseline_is,
                               {"requests": requests, "pipeline": pipeline, "rounds": rounds,
                                "geomean_of_ratios": round(geomean, 4)})))
    return results


def compare_many(sides: dict[str, Target], tests: tuple[str, ...], plan: Plan,
                 clients: int = CLIENTS) -> dict[str, dict[str, tuple[float, list[float], str]]]:
    """Every test on every side in rotating order per round (so no side is
    always first after a pause); test -> side -> (median, rounds, command)."""
    out: dict[str, dict[str, tuple[float, list[float], str]]] = {}
    names = list(sides)
    for test in tests:
        rounds: dict[str, list[float]] = {n: [] for n in names}
        cmds: dict[str, str] = {}
        for r in range(plan.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                rps, cmds[name] = requests_per_second(sides[name], test, plan.requests, clients=clients)
                rounds[name].append(rps)
        out[test] = {n: (statistics.median(rounds[n]), rounds[n], cmds[n]) for n in names}
        log(f"{test} -c {clients}: " + ", ".join(f"{n} {statistics.median(rounds[n]):,.0f}" for n in names))
    return out
