"""The render's stack-file reader agrees with the Pulumi CLI's own loader.

`pulumi-stackfile` (scripts/e2e-stackfile) is the CLI's loader from the
Go SDK at the pinned version: what it refuses, `pulumi up` refuses before the
program runs, so the offline render must refuse it too; what it accepts
reaches the program, which must read the same keys. Where the render is
stricter on purpose (a key under a namespace nobody reads) the list below
says so.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stacks.config import ConfigError
from stacks.config.load import check_namespace_spelling, read_stack_file
from tests.e2e.control_plane import ROOT
from tests.unit.bad_config_cases import BASE_FILE, CASES

FILE_CASES = [c for c in CASES if c.group == "file"]
# Accepted by the CLI, refused by the render on purpose: the CLI passes keys
# of any namespace through, and a misspelt project namespace would silently
# drop every deployment (and `pulumi up` would then delete them).
STRICTER = {"misspelled-namespace", "underscore-namespace", "capitalised-namespace", "key-with-empty-namespace"}


def _cli(tools: Path, stack_file: Path) -> tuple[bool, str]:
    proc = subprocess.run([str(tools / "pulumi-stackfile"), str(ROOT / "Pulumi.yaml"), str(stack_file)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode == 0, proc.stdout.strip()


def _ours(stack_file: Path) -> tuple[bool, str]:
    """The file reader, then the namespace check the program itself runs on the engine's keys."""
    try:
        config, _ = read_stack_file(stack_file)
        check_namespace_spelling(config.keys())
    except ConfigError as err:
        return False, str(err)
    return True, json.dumps(sorted(config))


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_render_refuses_whatever_the_cli_refuses(tools, tmp_path, case):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(case.raw)
    cli_ok, cli_says = _cli(tools, path)
    ours_ok, ours_says = _ours(path)
    assert not ours_ok, f"the render accepts {case.id}"
    if cli_ok:
        assert case.id in STRICTER, f"the CLI accepts {case.id} ({cli_says}); the render refuses: {ours_says}"
    else:
        assert case.id not in STRICTER, f"{case.id} is listed as stricter, but the CLI refuses it too: {cli_says}"


@pytest.mark.parametrize("text", [
    BASE_FILE,
    BASE_FILE + "  deployments: []\n",  # a bare key is the project's own
    BASE_FILE + "  redis-platform:config:clusterName: legacy\n",
    "config: {}\n",
    "",
], ids=["base", "bare-key", "legacy-config-spelling", "empty-config", "empty-file"])
def test_what_the_cli_accepts_the_render_reads_with_the_same_keys(tools, tmp_path, text):
    path = tmp_path / "Pulumi.ok.yaml"
    path.write_text(text)
    cli_ok, cli_says = _cli(tools, path)
    assert cli_ok, cli_says
    ours_ok, ours_says = _ours(path)
    assert ours_ok, ours_says
    assert sorted(json.loads(cli_says)["config"]) == json.loads(ours_says)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stacks_load_alike(tools, stack):
    path = ROOT / f"Pulumi.{stack}.yaml"
    cli_ok, cli_says = _cli(tools, path)
    assert cli_ok, cli_says
    cli_config = json.loads(cli_says)["config"]
    config, secret_keys = read_stack_file(path)
    assert sorted(cli_config) == sorted(config)
    assert {k for k, secure in cli_config.items() if secure} == secret_keys
