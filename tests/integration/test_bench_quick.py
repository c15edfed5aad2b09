"""``python -m bench --quick`` keeps working: it exits 0 and every line it
prints is a JSON figure with its baseline. Shape and plausibility only; the
figures themselves are printed, never asserted (machines are noisy)."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.rbench import SEED_TESTS
from bench.result import REQUIRED
from tests.integration.cluster.harness import PASSWORDS as CLUSTER_PASSWORDS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
UNITS = {"requests/s", "s", "MiB", "fraction"}

EXPECTED = (
    [f"{prefix}.{t}" for prefix in ("conf", "haproxy", "haproxy_pipelined", "cluster") for t in (*SEED_TESTS, "mean")]
    + ["recovery.sentinel_haproxy.write_outage", "recovery.cluster.write_outage", "recovery.cluster.other_shards_refused"]
    + [f"program.{what}.{m}" for what in ("import_only", "render_1", "render_10", "render_50") for m in ("wall", "peak_rss")]
    + [f"haproxy_hop.c{c}.{t}.{r}" for c in (3, 50) for t in ("SET", "GET")
       for r in ("minimal_vs_direct", "generated_vs_minimal", "generated_vs_direct", "generated_vs_minimal_1thread")]
    + [f"pyclient.c3.{t}.{r}" for t in ("SET", "GET") for r in ("sentinel_vs_direct", "haproxy_vs_direct", "sentinel_vs_haproxy")]
    + ["memory.small.f0.70.w1000.peak", "memory.small.proposed_fraction"]
    + [f"preview.offline_render_1.{m}" for m in ("wall", "peak_rss")]
)


def run_quick() -> tuple[int, str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            # bench stops its own children by PID on SIGTERM.
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def quick():
    rc, out, err = run_quick()
    print(err)
    assert rc == 0, f"python -m bench --quick exited {rc}:\n{err[-3000:]}"
    return out, err


def test_every_line_is_a_figure_with_its_baseline(quick):
    out, _ = quick
    lines = out.splitlines()
    assert lines, "no output"
    figures = {}
    for line in lines:
        doc = json.loads(line)
        missing = [k for k in REQUIRED if k not in doc]
        assert not missing, f"{doc.get('name')}: missing {missing}"
        for key in ("value", "baseline", "ratio"):
            v = doc[key]
            assert isinstance(v, (int, float)) and math.isfinite(v) and v > 0, f"{doc['name']}.{key} = {v!r}"
        assert math.isclose(doc["ratio"], doc["value"] / doc["baseline"], rel_tol=1e-3), doc
        assert doc["unit"] in UNITS, doc
        assert isinstance(doc["command"], str) and doc["command"], doc
        figures[doc["name"]] = doc
    assert sorted(figures) == sorted(EXPECTED)
    assert len(figures) == len(lines), "a figure was printed twice"


def test_units_and_ranges_fit_what_is_measured(quick):
    figures = {d["name"]: d for d in map(json.loads, quick[0].splitlines())}
    for name, doc in figures.items():
        section = name.split(".")[0]
        expected_unit = {"recovery": "s", "program": None, "preview": None, "memory": None}.get(section, "requests/s")
        if expected_unit:
            assert doc["unit"] == expected_unit, doc
        if doc["unit"] == "requests/s":
            # Loopback Redis answers at least hundreds and at most millions per second.
            assert 100 < doc["value"] < 1e8 and 100 < doc["baseline"] < 1e8, doc
            if section == "pyclient":
                assert doc["command"].startswith("3 x python -m bench.pyclient "), doc
            else:
                assert doc["command"].startswith("redis-benchmark ") or name.endswith(".mean"), doc
    for name in ("recovery.sentinel_haproxy.write_outage", "recovery.cluster.write_outage"):
        # Seconds since a kill; bench gives up after 90.
        assert 0 < figures[name]["value"] < 90
    assert figures["program.render_50.wall"]["resources"] > figures["program.render_1.wall"]["resources"], \
        "50 deployments must register more resources than 1"
    # The render wrote the stack's objects: a deployment alone makes dozens.
    assert figures["preview.offline_render_1.wall"]["yaml_files"] > 20
    for name, doc in figures.items():
        if name.startswith("haproxy_hop.c50."):
            assert " -c 50 " in doc["command"] and " -c 50 " in doc["baseline_command"], doc
        if name.startswith("haproxy_hop.c3."):
            assert " -c 3 " in doc["command"] and " -c 3 " in doc["baseline_command"], doc
    hop = figures["haproxy_hop.c3.GET.generated_vs_minimal"]
    # The baseline of generated/minimal is the value of minimal/direct: one measurement, two ratios.
    assert hop["baseline"] == figures["haproxy_hop.c3.GET.minimal_vs_direct"]["value"]


def test_memory_peak_is_a_measured_fork_against_the_scaled_limit(quick):
    figures = {d["name"]: d for d in map(json.loads, quick[0].splitlines())}
    peak = figures["memory.small.f0.70.w1000.peak"]
    assert peak["unit"] == "MiB" and peak["baseline"] == 1024 / peak["scale"]
    assert [e["event"] for e in peak["events"]] == ["bgsave", "aofrewrite", "fullsync"]
    for event in peak["events"]:
        # Each fork was seen, and a full node's peak is above what it holds at rest.
        assert event["children_seen"] >= 1 and event["peak_mib"] > event["steady_mib"], event
    assert peak["write_errors"] == 0 and peak["achieved_write_rate"] > 0.5 * peak["write_rate"], peak
    assert len(peak["commands"]) == 3
    proposed = figures["memory.small.proposed_fraction"]
    assert proposed["unit"] == "fraction" and 0 < proposed["value"] < 1 and 0 < proposed["baseline"] < 1


def test_no_secret_in_output(quick):
    out, err = quick
    for password in CLUSTER_PASSWORDS.values():
        assert password not in out and password not in err
    for doc in map(json.loads, out.splitlines()):
        for key in ("command", "baseline_command"):
            words = doc[key].split()
            if "-a" in words:
                assert words[words.index("-a") + 1] == "'***'", doc[key]
