"""Every bad config in the table stops both entry points before anything runs:
the offline render exits non-zero with exactly one ``config error:`` line
(warnings aside) naming the key, no traceback, nothing written; the real
program raises one RunError line and registers nothing."""

from __future__ import annotations

from collections import Counter

import pulumi
import pytest

from stacks.harness import RecordingMocks, run_program
from stacks.program import main as program_main
from stacks.render import main as render_main
from tests.unit.bad_config_cases import CASES, GOOD, Case
from tests.unit.conftest import to_runtime

PARAMS = [pytest.param(c, id=f"{c.group}:{c.id}") for c in CASES]


def test_the_table_is_broad():
    assert len({c.id for c in CASES}) == len(CASES) >= 80
    assert len({c.stack_file_text() for c in CASES}) == len(CASES), "two cases are the same config"
    groups = Counter(c.group for c in CASES)
    assert len(groups) >= 15 and min(groups.values()) >= 1, groups


def test_the_good_config_renders_without_warnings():
    # The webhook is a secret in a real stack file.
    run = run_program(program_main, to_runtime(GOOD), secret_keys={"redis-platform:monitoring"})
    assert run.k8s("StatefulSet", "sessions") and run.k8s("StatefulSet", "cache-sentinel")
    assert run.warnings == []


@pytest.mark.parametrize("case", PARAMS)
def test_render_refuses_with_one_line(case: Case, tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text(case.stack_file_text())
    out = tmp_path / "out"
    code = render_main(["bad", "--out", str(out), "--stack-file", str(stack_file)])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    errors = [line for line in lines if line.startswith("config error: ")]
    assert code != 0
    assert len(errors) == 1, lines
    assert all(line.startswith(("config error: ", "config warning: ")) for line in lines), lines
    assert errors[0].startswith(f"config error: {case.key}"), errors[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


@pytest.mark.parametrize("case", [p for p in PARAMS if p.values[0].raw is None])
def test_program_refuses_and_registers_nothing(case: Case):
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as err:
        run_program(program_main, to_runtime(case.values()), mocks=mocks)
    message = str(err.value)
    assert message.startswith(f"config error: {case.key}") and "\n" not in message, message
    assert mocks.resources == []
