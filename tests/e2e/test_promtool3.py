"""Prometheus 3's promtool, built from its Go module with Kubernetes service
discovery compiled in, checks every Prometheus config exactly as rendered.

Debian's promtool 2.42 lacks Kubernetes SD, so the integration tier can only
check a static variant; here the production text itself is checked, at the
paths the pods mount it (/etc/prometheus), inside a private mount namespace so
the host's /etc is never touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.monitoring.labels import PROMETHEUS_CONFIG_DIR, PROMETHEUS_SECRETS_DIR
from components.monitoring.rules import RulesSpec, global_rule_groups, render_global_rule_files, render_rule_files, rule_groups
from tests.e2e.conftest import render
from tests.integration.monitoring.alert_cases import GLOBAL_CASES, LOWER_CASES, LOWER_SPEC
from tests.integration.monitoring.test_promtool import run_rule_tests

# (stack, namespace) of every Prometheus the committed stacks deploy.
SERVERS = [("dev", "monitoring"), ("prod", "monitoring"), ("prod", "monitoring-global")]
_SECRET_PATH = re.compile(re.escape(PROMETHEUS_SECRETS_DIR) + r"/[\w./-]+")
# Files the kubelet mounts into every pod (the service-account token and CA).
_POD_FILE = re.compile(r"/var/run/secrets/kubernetes\.io/serviceaccount/[\w.-]+")


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for stack in sorted({s for s, _ in SERVERS}):
        folder = tmp_path_factory.mktemp(f"render-{stack}")
        render(stack, folder)
        out[stack] = folder
    return out


def _config_map(folder: Path, namespace: str, name: str) -> dict[str, str]:
    return yaml.safe_load((folder / "1-manifest" / f"v1-configmap-{namespace}-{name}.yaml").read_text())["data"]


def _lay_out(folder: Path, namespace: str, etc: Path) -> str:
    """The config and rules ConfigMaps as the pod mounts them; returns the config text."""
    config = _config_map(folder, namespace, "prometheus-config")
    (etc / "rules").mkdir(parents=True)
    for name, text in config.items():
        (etc / name).write_text(text)
    for name, text in _config_map(folder, namespace, "prometheus-rules").items():
        (etc / "rules" / name).write_text(text)
    # Secret files (passwords, CA bundles) are mounted from Secrets; promtool
    # only needs them to exist, so each referenced path gets a placeholder.
    for ref in set(_SECRET_PATH.findall(config["prometheus.yml"])):
        target = etc / Path(ref).relative_to(PROMETHEUS_CONFIG_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("placeholder\n")
    return config["prometheus.yml"]


def _promtool_at_etc(tools: Path, etc: Path, *argv: str) -> subprocess.CompletedProcess:
    """promtool with ``etc`` bind-mounted on /etc/prometheus in a private mount namespace."""
    # /run gets a fresh tmpfs in the namespace, so the pod's service-account
    # files can be laid out there without touching the host's /run.
    pod_files = " && ".join(f"echo placeholder > {p}" for p in sorted(set(_POD_FILE.findall(
        (etc / "prometheus.yml").read_text())))) or "true"
    script = (f'mkdir -p {PROMETHEUS_CONFIG_DIR} && mount --bind "$1" {PROMETHEUS_CONFIG_DIR} '
              f'&& mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount '
              f'&& {pod_files} && shift && exec "$@"')
    argv_full = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(etc),
                 str(tools / "promtool"), *argv]
    result = subprocess.run(argv_full, capture_output=True, text=True, timeout=120)
    print(result.stdout[-4000:], result.stderr[-4000:])
    return result


def test_built_promtool_is_prometheus_3(tools):
    out = subprocess.run([str(tools / "promtool"), "--version"], capture_output=True, text=True, timeout=30)
    assert re.search(r"version 3\.", out.stdout + out.stderr), out.stdout + out.stderr


@pytest.mark.parametrize("stack,namespace", SERVERS)
def test_rendered_prometheus_config_passes_promtool_3_with_kubernetes_sd(tools, renders, tmp_path, stack, namespace):
    if shutil.which("unshare") is None:
        raise AssertionError("unshare (util-linux) is needed to mount the config at /etc/prometheus")
    etc = tmp_path / "etc-prometheus"
    text = _lay_out(renders[stack], namespace, etc)
    uses_k8s_sd = "kubernetes_sd_configs" in text
    # The environment servers discover pods; the global one federates by static target.
    assert uses_k8s_sd == (namespace == "monitoring")
    result = _promtool_at_etc(tools, etc, "check", "config", f"{PROMETHEUS_CONFIG_DIR}/prometheus.yml")
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout + result.stderr
    rules = sorted(f"{PROMETHEUS_CONFIG_DIR}/rules/{p.name}" for p in (etc / "rules").iterdir())
    assert rules, "no rule files rendered"
    assert _promtool_at_etc(tools, etc, "check", "rules", *rules).returncode == 0


def test_promtool_3_refuses_a_broken_kubernetes_sd_role(tools, renders, tmp_path):
    """The check is real: promtool 3 rejects what Kubernetes SD rejects (an unknown role)."""
    etc = tmp_path / "etc-prometheus"
    text = _lay_out(renders["dev"], "monitoring", etc)
    (etc / "prometheus.yml").write_text(text.replace("role: pod", "role: pods", 1))
    result = _promtool_at_etc(tools, etc, "check", "config", f"{PROMETHEUS_CONFIG_DIR}/prometheus.yml")
    assert result.returncode != 0
    assert "role" in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("which", ["lower", "global"])
def test_every_alert_unit_test_passes_under_promtool_3(tools, tmp_path, which):
    if which == "lower":
        run_rule_tests(tmp_path, render_rule_files(LOWER_SPEC), rule_groups(LOWER_SPEC), LOWER_CASES,
                       promtool=str(tools / "promtool"))
    else:
        spec = RulesSpec()
        run_rule_tests(tmp_path, render_global_rule_files(spec), global_rule_groups(spec), GLOBAL_CASES,
                       promtool=str(tools / "promtool"))
