"""python -m bench [--quick] [--requests N] [--rounds R] [--runs R] [--only SECTION ...] [--keep]

Prints one JSON object per line on stdout (progress goes to stderr); every
process it starts is stopped by PID before it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import cluster, memory, program_cost, rbench, sentinel, single
from bench.result import log
from tests.integration.procs import ProcGroup, require

SECTIONS = ("conf", "haproxy", "cluster", "recovery", "program", "memory", "preview")
FULL_REQUESTS, QUICK_REQUESTS = 60_000, 5_000
FULL_RUNS, QUICK_RUNS = 3, 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small request counts, one recovery run: under two minutes")
    p.add_argument("--requests", type=int, help=f"redis-benchmark -n per test and round (default {FULL_REQUESTS:,}; "
                                                f"quick {QUICK_REQUESTS:,}; the seed used {rbench.SEED_REQUESTS:,})")
    p.add_argument("--rounds", type=int, help=f"alternating rounds per test, median taken (default {rbench.ROUNDS}; quick 1)")
    p.add_argument("--runs", type=int, help=f"recovery runs per mode (default {FULL_RUNS}; quick {QUICK_RUNS})")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these sections")
    p.add_argument("--keep", action="store_true", help="keep the working directory (logs, data) for inspection")
    args = p.parse_args(argv)
    args.requests = args.requests or (QUICK_REQUESTS if args.quick else FULL_REQUESTS)
    args.runs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    args.rounds = args.rounds or (1 if args.quick else rbench.ROUNDS)
    if min(args.requests, args.runs, args.rounds) < 1:
        p.error("--requests, --rounds and --runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    for binary in ("redis-benchmark", "redis-server", "redis-sentinel", "redis-cli", "haproxy", "dash"):
        require(binary)
    # SIGTERM (a CI timeout) unwinds like an exception, so the finally below
    # still stops every started process by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="redis-bench-"))
    group = ProcGroup()
    started = time.monotonic()
    log(f"working in {root}; -n {args.requests} per test and round, {args.rounds} round(s), "
        f"{args.runs} recovery run(s) per mode")
    try:
        # The harnesses print progress on stdout; stdout is for JSON lines only.
        with contextlib.redirect_stdout(sys.stderr):
            run_sections(args, group, root)
    finally:
        group.stop_all()
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


def run_sections(args: argparse.Namespace, group: ProcGroup, root: Path) -> None:
    """Each section stops what it started before the next one runs; only the
    bare baseline node lives through sections 1 and 3."""
    only = set(args.only)
    plan = rbench.Plan(args.requests, args.rounds)
    bare = single.start_bare(group, root) if {"conf", "cluster"} & only else None
    if "conf" in only:
        single.run(root, plan, bare)
    if {"haproxy", "recovery"} & only:
        sentinel.run(root, plan, args.runs, "haproxy" in only, "recovery" in only)
    if {"cluster", "recovery"} & only:
        cluster.run(root, plan, args.runs, bare, "cluster" in only, "recovery" in only)
    group.stop_all()
    if "program" in only:
        program_cost.run(quick=args.quick)
    if "memory" in only:
        memory.run(root, quick=args.quick)
    if "preview" in only:
        program_cost.run_preview(root, quick=args.quick)

if __name__ == "__main__":
    sys.exit(main())
