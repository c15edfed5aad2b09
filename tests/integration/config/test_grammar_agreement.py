"""The real consumers agree with the config's grammar checks on the shared
samples (tests/samples/grammar_samples.py): what the config accepts, the
consumer accepts; what the config refuses as bad grammar, the consumer
refuses; what the config refuses on purpose (``refuse_stricter``), the
consumer parses.

Consumers: promtool (durations, sizes, scrape targets), the prometheus
binary's own flags (retention time and size), a real Prometheus's
``/federate`` (match[] selectors), and the Go libraries of the API server
and cAdvisor (cron, CIDR, Go durations) through a small Go program.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.integration.monitoring.helpers import http_get
from tests.integration.procs import require, wait_for
from tests.samples.grammar_samples import SAMPLES

pytestmark = pytest.mark.integration
GOPARSE = Path(__file__).parent / "goparse"
# Loopback address of this file's Prometheus; no other test uses it.
FEDERATE_IP = "127.0.0.231"


def expected(grammar: str) -> list[tuple[str, bool]]:
    """(value, does the consumer accept it) for every sample of ``grammar``."""
    lists = SAMPLES[grammar]
    return ([(v, True) for v in lists["accept"]] + [(v, False) for v in lists["refuse"]]
            + [(v, True) for v in lists["refuse_stricter"]])


def disagreements(grammar: str, verdict) -> list[str]:
    out = []
    for value, accepted in expected(grammar):
        ok, detail = verdict(value)
        if ok != accepted:
            out.append(f"{value!r}: consumer {'accepts' if ok else 'refuses'} ({detail.strip()[-200:]})")
    return out


def promtool_config(tmp_path: Path, config: dict) -> tuple[bool, str]:
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([require("promtool"), "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0, proc.stdout + proc.stderr


def prometheus_flag(tmp_path: Path, flag: str, value: str) -> tuple[bool, str]:
    """Whether prometheus parses ``--flag=value``: with a config file that
    does not exist, a good flag gets as far as "Error loading config"."""
    proc = subprocess.run(
        [require("prometheus"), f"--{flag}={value}", f"--config.file={tmp_path / 'missing.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", "--web.listen-address=127.0.0.1:0"],
        capture_output=True, text=True, timeout=60,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and ("Error loading config" in text or "Error parsing command" in text), text[-500:]
    return "Error parsing command" not in text, text


def test_promtool_reads_durations_as_the_config_does(tmp_path):
    bad = disagreements("prometheus_duration",
                        lambda v: promtool_config(tmp_path, {"global": {"scrape_interval": v}}))
    assert not bad, bad


def test_prometheus_retention_time_flag_reads_durations_as_the_config_does(tmp_path):
    # "" is "not set" for a flag, not a value: left to the config-file test above.
    bad = [d for d in disagreements("prometheus_duration",
                                    lambda v: prometheus_flag(tmp_path, "storage.tsdb.retention.time", v))
           if not d.startswith("'':")]
    assert not bad, bad


def test_promtool_reads_sizes_as_the_config_does(tmp_path):
    def verdict(value):
        return promtool_config(tmp_path, {"scrape_configs": [
            {"job_name": "x", "body_size_limit": value, "static_configs": [{"targets": ["a:80"]}]}]})
    bad = disagreements("prometheus_size", verdict)
    assert not bad, bad


def test_prometheus_retention_size_flag_reads_sizes_as_the_config_does(tmp_path):
    bad = [d for d in disagreements("prometheus_size",
                                    lambda v: prometheus_flag(tmp_path, "storage.tsdb.retention.size", v))
           if not d.startswith("'':")]
    assert not bad, bad


def test_promtool_reads_scrape_targets_as_the_config_does(tmp_path):
    def verdict(value):
        return promtool_config(tmp_path, {"scrape_configs": [{"job_name": "x", "static_configs": [{"targets": [value]}]}]})
    bad = disagreements("scrape_target", verdict)
    assert not bad, bad


def test_federate_endpoint_reads_selectors_as_the_config_does(tmp_path, procs):
    conf = tmp_path / "prometheus.yml"
    conf.write_text(yaml.safe_dump({"global": {"scrape_interval": "1m"}}))
    procs.start([require("prometheus"), f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address={FEDERATE_IP}:9090"], tmp_path / "prometheus.log")
    wait_for(lambda: http_get(f"http://{FEDERATE_IP}:9090/-/ready").startswith("Prometheus"), 20, what="prometheus ready")

    def verdict(value):
        url = f"http://{FEDERATE_IP}:9090/federate?" + urllib.parse.urlencode({"match[]": value})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status == 200, str(resp.status)
        except urllib.error.HTTPError as err:
            return False, f"{err.code} {err.read().decode(errors='replace')}"

    bad = disagreements("selector", verdict)
    assert not bad, bad


@pytest.fixture(scope="module")
def go_verdicts():
    """Runs the Go program once over every cron, CIDR and Go duration sample."""
    go = shutil.which("go")
    if go is None:
        raise AssertionError("no Go toolchain: the cron/CIDR/Go-duration agreement needs it (every machine of this kind has one)")
    samples = [(g, v) for g in ("cron", "cidr", "go_duration") for v, _ in expected(g)]
    stdin = "".join(json.dumps({"grammar": g, "value": v}) + "\n" for g, v in samples)
    proc = subprocess.run([go, "run", "."], cwd=GOPARSE, input=stdin, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(samples)
    return {sample: (line == "ok", line) for sample, line in zip(samples, lines)}


@pytest.mark.parametrize("grammar", ["cron", "cidr", "go_duration"])
def test_go_parsers_read_values_as_the_config_does(grammar, go_verdicts):
    bad = disagreements(grammar, lambda v: go_verdicts[(grammar, v)])
    assert not bad, bad
