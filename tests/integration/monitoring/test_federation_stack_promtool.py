"""promtool accepts the global Prometheus config and rules exactly as the prod
stack deploys them (the ConfigMaps of the Federation component)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.integration.monitoring.helpers import write_files
from tests.integration.procs import require
from tests.unit.conftest import run_stack_file

pytestmark = pytest.mark.integration

NS = "monitoring-global"
MOUNT = "/etc/prometheus/"


def promtool(*argv: str) -> subprocess.CompletedProcess:
    result = subprocess.run([require("promtool"), *argv], capture_output=True, text=True, timeout=60)
    print(result.stdout[-2000:], result.stderr[-2000:])
    return result


def config_map(run, name: str) -> dict[str, str]:
    (cm,) = [m for m in run.k8s("ConfigMap", name) if m["metadata"]["namespace"] == NS]
    return cm["data"]


def test_prod_global_prometheus_config_and_rules_pass_promtool(tmp_path):
    run = run_stack_file("prod")
    text = config_map(run, "prometheus-config")["prometheus.yml"]
    rules = config_map(run, "prometheus-rules")
    (tmp_path / "as-deployed.yml").write_text(text)
    assert promtool("check", "config", "--syntax-only", str(tmp_path / "as-deployed.yml")).returncode == 0

    # Full check (rule files are loaded and checked): the pod's mount root
    # moved to tmp_path, holding what the pod has there (rules from the
    # ConfigMap, placeholder secret files).
    root = tmp_path / "etc-prometheus"
    write_files(root / "rules", rules)
    for job in yaml.safe_load(text)["scrape_configs"]:
        for path in (job.get("basic_auth", {}).get("password_file"), job.get("tls_config", {}).get("ca_file")):
            if path:
                target = root / path.removeprefix(MOUNT)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("placeholder\n")
    (tmp_path / "prometheus.yml").write_text(text.replace(MOUNT, f"{root}/"))
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0
    assert f"{len(rules)} rule files found" in result.stdout + result.stderr
    assert promtool("check", "rules", *sorted(str(p) for p in (root / "rules").glob("*.yml"))).returncode == 0
