"""Unit-test helpers: run the real program under mocks, one event loop per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from stacks.config.load import read_stack_file
from stacks.harness import Run, run_program
from stacks.program import main as program_main

ROOT = Path(__file__).resolve().parents[2]

BASE_CONFIG: dict[str, Any] = {
    "environment": "test",
    "clusterName": "unit",
    "storage": {"kind": "existing", "storageClassName": "standard"},
}


def to_runtime(values: dict[str, Any]) -> dict[str, str]:
    """Bare config values as the engine passes them: project:key -> string."""
    return {
        f"redis-platform:{k}": v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()
    }


def run_with(values: dict[str, Any]) -> Run:
    return run_program(program_main, to_runtime(values))


def run_stack_file(stack: str) -> Run:
    config, secret_keys = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return run_program(program_main, config, secret_keys, stack=stack)


@pytest.fixture(scope="session")
def dev_run() -> Run:
    return run_stack_file("dev")


@pytest.fixture(scope="session")
def prod_run() -> Run:
    return run_stack_file("prod")


@pytest.fixture
def recorded_options(monkeypatch) -> dict[str, Any]:
    """Resource name -> the ResourceOptions it was created with, for StatefulSets and claims.
    The mock runtime does not pass resource options to the mocks, so the
    constructors are wrapped to record them."""
    seen: dict[str, Any] = {}
    for owner, cls_name in ((k8s.apps.v1, "StatefulSet"), (k8s.core.v1, "PersistentVolumeClaim")):
        real = getattr(owner, cls_name)

        class Recording(real):  # type: ignore[misc, valid-type]
            def __init__(self, resource_name, *args, opts=None, **kwargs):
                seen[resource_name] = opts
                super().__init__(resource_name, *args, opts=opts, **kwargs)

        monkeypatch.setattr(owner, cls_name, Recording)
    return seen
