"""``python -m bench.report RESULTS.jsonl``: the machine and the results as
Markdown tables, for docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

TITLES = {
    "conf": "1. Generated redis.conf vs bare redis-server (one node, no pipelining)",
    "haproxy": "2. HAProxy write port vs direct to the master, no pipelining",
    "haproxy_pipelined": "2. HAProxy write port vs direct to the master, pipelining 16",
    "cluster": "3. 3-master cluster (redis-benchmark --cluster) vs one bare node",
    "recovery": "4. Seconds of refused writes after SIGKILL of a master (median)",
    "program": "5. Program cost: rendering a stack vs importing the Pulumi SDKs",
    "haproxy_hop": "2. The proxy hop: minimal TCP haproxy vs direct, generated vs minimal",
    "pyclient": "2. redis-py via Sentinel, via HAProxy, direct",
    "memory": "6. Peak RSS during forks vs the (scaled) memory limit",
    "preview": "7. Offline render (what a PR preview runs) vs importing the Pulumi SDKs",
}


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not available"


def machine() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    return [
        f"- `uname -a`: `{_first_line(['uname', '-a'])}`",
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem}",
        f"- {_first_line(['redis-server', '--version'])}",
        f"- {_first_line(['redis-benchmark', '--version'])}",
        f"- {_first_line(['haproxy', '-v'])}",
        f"- Python {platform.python_version()}",
    ]


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f}" if unit == "requests/s" else f"{value:,.2f}"


def tables(lines: list[dict]) -> list[str]:
    out: list[str] = []
    section, ratios = None, []
    for r in [*lines, None]:
        head = r["name"].split(".")[0] if r else None
        if head != section:
            if ratios and section in ("conf", "haproxy", "haproxy_pipelined", "cluster"):
                out += ["", f"Geometric mean of the ratios: **{statistics.geometric_mean(ratios):.2f}**"]
            if r is None:
                break
            section, ratios = head, []
            # haproxy_hop and pyclient lines have their own baselines: the name says which.
            baseline = "per line (the figure's name: value_vs_baseline)" if head in ("haproxy_hop", "pyclient") else r["baseline_is"]
            out += ["", f"### {TITLES.get(head, head)}", "", f"Baseline: {baseline}.", "",
                    "| figure | value | baseline | ratio | unit |", "|---|---:|---:|---:|---|"]
        name = r["name"].split(".", 1)[1]
        if name != "mean":
            ratios.append(r["ratio"])
        out.append(f"| {name} | {_fmt(r['value'], r['unit'])} | {_fmt(r['baseline'], r['unit'])} "
                   f"| {r['ratio']:.2f} | {r['unit']} |")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    lines = [json.loads(ln) for ln in Path(argv[0]).read_text().splitlines() if ln.strip()]
    print("\n".join(machine() + tables(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
