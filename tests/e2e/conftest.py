"""End-to-end fixtures: built tools, a local control plane per module, renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import kube
from tests.e2e.control_plane import ROOT, ControlPlane, tools_bin


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def tools() -> Path:
    return tools_bin()


def start_control_plane(tools: Path, workdir: Path) -> ControlPlane:
    cp = ControlPlane(workdir=workdir, bin=tools)
    try:
        cp.start()
    except Exception:
        logs = "\n".join(f"--- {p.log.name}\n{p.tail()}" for p in cp.procs.procs)
        cp.stop()
        raise AssertionError(f"control plane did not start:\n{logs}") from None
    return cp


@pytest.fixture(scope="module")
def control_plane(tools: Path, tmp_path_factory: pytest.TempPathFactory):
    cp = start_control_plane(tools, tmp_path_factory.mktemp("control-plane"))
    yield cp
    cp.stop()


@pytest.fixture(scope="module")
def dyn(control_plane: ControlPlane):
    return kube.connect(control_plane.kubeconfig)


def render(stack: str, out: Path, stack_file: Path | None = None) -> list[dict[str, Any]]:
    """The offline render exactly as a user runs it (`python -m stacks.render`)."""
    argv = [sys.executable, "-m", "stacks.render", stack, "--out", str(out)]
    if stack_file is not None:
        argv += ["--stack-file", str(stack_file)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return kube.load_render(out)
