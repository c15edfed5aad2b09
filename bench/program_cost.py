"""Section 5: wall time and peak RSS of rendering a stack with 1, 10 and 50
Redis deployments, against the floor: a Python that only imports the Pulumi
SDKs the program uses. Each figure is its own child process, measured by
``os.wait4`` (that child's rusage, not the running maximum over all children)."""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.result import Result, emit, log

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 50)
FLOOR = [sys.executable, "-c", "import pulumi, pulumi_kubernetes, pulumi_aws, pulumi_random"]
# The SDK packages load their resource modules lazily; this shows how much of
# a render is importing the program (and the modules it pulls in) at all.
IMPORT_ONLY = [sys.executable, "-c", "import stacks.program, stacks.harness"]
FLOOR_IS = "python importing pulumi, pulumi_kubernetes, pulumi_aws, pulumi_random"
FULL_REPEATS, QUICK_REPEATS = 3, 1


def measure(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one child."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Read before waiting: a child blocked on a full pipe would never exit.
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({proc.returncode}): {err.decode()[-800:]}")
    # Linux reports ru_maxrss in KiB.
    return wall, usage.ru_maxrss / 1024, out.decode()


def median_of(argv: list[str], repeats: int) -> tuple[float, float, str]:
    runs = [measure(argv) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[-1][2]


def run(quick: bool = False) -> None:
    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    floor_wall, floor_rss, _ = median_of(FLOOR, repeats)
    floor_cmd = shlex.join(["python", *FLOOR[1:]])
    log(f"section 5: floor (import the Pulumi SDKs) {floor_wall:.2f}s, {floor_rss:.0f} MiB; median of {repeats}")
    wall, rss, _ = median_of(IMPORT_ONLY, repeats)
    cmd = shlex.join(["python", *IMPORT_ONLY[1:]])
    for metric, value, unit, floor in (("wall", wall, "s", floor_wall), ("peak_rss", rss, "MiB", floor_rss)):
        emit(Result(f"program.import_only.{metric}", value, unit, floor, cmd, floor_cmd, FLOOR_IS, {"repeats": repeats}))
    for n in SIZES:
        argv = [sys.executable, "-m", "bench.render_child", str(n)]
        wall, rss, out = median_of(argv, repeats)
        registered = json.loads(out.strip().splitlines()[-1])
        cmd = shlex.join(["python", *argv[1:]])
        extra = {"repeats": repeats, **registered}
        for metric, value, unit, floor in (("wall", wall, "s", floor_wall), ("peak_rss", rss, "MiB", floor_rss)):
            emit(Result(f"program.render_{n}.{metric}", value, unit, floor, cmd, floor_cmd, FLOOR_IS, extra))
        log(f"render {n} deployment(s): {wall:.2f}s, {rss:.0f} MiB, {registered['resources']} resources")


QUICK_PREVIEW_SIZES = (1,)
PREVIEW_IS = ("`pulumi preview` was not run: the real engine (CLI, Python language host, random "
              "provider) cannot be built here; this is the offline render a pull-request preview runs")


def run_preview(root: Path, quick: bool = False) -> None:
    """The offline render a pull-request preview runs (``python -m stacks.render``:
    the program under mocks, every object written as YAML) on stack files with
    1, 10 and 50 deployments, against the same floor. ``pulumi preview`` itself
    needs the real engine, which cannot be built on these machines; it is not
    measured and nothing here stands in for it."""
    import yaml

    from bench.render_child import stack_values

    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    floor_wall, floor_rss, _ = median_of(FLOOR, repeats)
    floor_cmd = shlex.join(["python", *FLOOR[1:]])
    log(f"section 7: offline render (stacks.render) of 1, 10, 50 deployments; floor {floor_wall:.2f}s, "
        f"{floor_rss:.0f} MiB; median of {repeats}")
    base = root / "preview"
    base.mkdir(parents=True, exist_ok=True)
    # --quick: 10 and 50 deployments take 6 and 25 s here; section 5 already
    # shows the growth with size under --quick.
    for n in QUICK_PREVIEW_SIZES if quick else SIZES:
        stack_file = base / f"Pulumi.bench{n}.yaml"
        values = stack_values(n)
        stack_file.write_text(yaml.safe_dump({"config": {f"redis-platform:{k}": v for k, v in values.items()}}))
        out = base / f"out{n}"
        argv = [sys.executable, "-m", "stacks.render", f"bench{n}", "--stack-file", str(stack_file), "--out", str(out)]
        wall, rss, _ = median_of(argv, repeats)
        files = sum(1 for _ in out.rglob("*.yaml"))
        cmd = shlex.join(["python", "-m", "stacks.render", f"bench{n}", "--stack-file", f"Pulumi.bench{n}.yaml",
                          "--out", f"out{n}"])
        extra = {"repeats": repeats, "deployments": n, "yaml_files": files, "pulumi_preview": "not measured",
                 "why_not": PREVIEW_IS}
        for metric, value, unit, floor in (("wall", wall, "s", floor_wall), ("peak_rss", rss, "MiB", floor_rss)):
            emit(Result(f"preview.offline_render_{n}.{metric}", value, unit, floor, cmd, floor_cmd, FLOOR_IS, extra))
        log(f"offline render of {n} deployment(s): {wall:.2f}s, {rss:.0f} MiB, {files} YAML files")
