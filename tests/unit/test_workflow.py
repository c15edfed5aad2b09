"""The GitHub Actions workflow: its structure, pinned actions, shell syntax,
and its offline steps (render every stack, diff two renders) run here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.render_diff import MARKER, Change, render_markdown
from tests.unit.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "preview.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict, job: str | None = None) -> list[dict]:
    jobs = [workflow["jobs"][job]] if job else workflow["jobs"].values()
    return [s for j in jobs for s in j["steps"]]


def step_named(workflow: dict, job: str, name: str) -> dict:
    (found,) = [s for s in steps(workflow, job) if s.get("name") == name]
    return found


def test_triggers_and_jobs(workflow):
    on = workflow[True]  # YAML 1.1 reads the key `on` as the boolean True
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    for name, job in workflow["jobs"].items():
        assert job["runs-on"].startswith("ubuntu-"), name
        assert job["timeout-minutes"] > 0, name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: a step either uses an action or runs a script"


def test_every_action_is_pinned_to_a_release(workflow):
    used = [s["uses"] for s in steps(workflow) if "uses" in s]
    assert used
    for ref in used:
        assert PINNED.match(ref), f"{ref} is not pinned to vX.Y.Z or a commit"


def test_every_script_is_valid_bash(workflow, tmp_path):
    for i, step in enumerate(s for s in steps(workflow) if "run" in s):
        script = tmp_path / f"step{i}.sh"
        script.write_text(EXPRESSION.sub("EXPR", step["run"]))
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"{step.get('name')}: {proc.stderr}"


def test_pulumi_runs_only_with_credentials_and_with_the_policy_pack(workflow):
    jobs = workflow["jobs"]
    for job in ("pulumi-preview", "deploy-dev"):
        assert "secrets.PULUMI_ACCESS_TOKEN != ''" in jobs[job]["env"]["HAS_PULUMI"]
        for step in jobs[job]["steps"]:
            if step.get("uses", "").startswith(("pulumi/actions@", "actions/checkout@")):
                assert "env.HAS_PULUMI == 'true'" in step["if"], job
    (preview,) = [s for s in jobs["pulumi-preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert preview["with"]["command"] == "preview" and preview["with"]["comment-on-pr"] is True
    assert jobs["pulumi-preview"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    (up,) = [s for s in jobs["deploy-dev"]["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", "dev")
    assert "refs/heads/main" in jobs["deploy-dev"]["if"] and jobs["deploy-dev"]["needs"] == "test"
    for step in (preview, up):
        assert step["with"]["policyPacks"] == "policies"
        config = step["with"]["policyPackConfigs"].replace("${{ matrix.stack }}", "prod")
        assert (ROOT / config).is_file(), config
    assert (ROOT / "policies" / "PulumiPolicy.yaml").is_file()


def test_render_diff_job_comments_with_the_marker(workflow):
    job = workflow["jobs"]["render-diff"]
    assert job["permissions"]["pull-requests"] == "write"
    comment = step_named(workflow, "render-diff", "Comment on the pull request")
    assert comment["uses"].startswith("actions/github-script@")
    assert "render-diff.md" in comment["with"]["script"] and "updateComment" in comment["with"]["script"]
    assert "scripts/render_diff.py" in step_named(workflow, "render-diff", "Diff")["run"]


def test_render_head_step_renders_every_stack(workflow, tmp_path):
    script = step_named(workflow, "render-diff", "Render head")["run"]
    env = {**os.environ, "RENDER_DIR": str(tmp_path)}
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    assert sorted(p.name for p in (tmp_path / "head").iterdir()) == stacks
    for stack in stacks:
        assert list((tmp_path / "head" / stack / "1-manifest").glob("*.yaml")), stack


def render(stack_file: Path, out: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stacks.render", "dev", "--out", str(out), "--stack-file", str(stack_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def diff(base: Path, head: Path, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "scripts/render_diff.py", str(base), str(head), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> Path:
    """base/dev from Pulumi.dev.yaml, head/dev with sessions' volumes grown to 3Gi."""
    root = tmp_path_factory.mktemp("renders")
    render(ROOT / "Pulumi.dev.yaml", root / "base" / "dev")
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    (sessions,) = [d for d in doc["config"]["redis-platform:deployments"] if d["name"] == "sessions"]
    assert sessions["persistence"]["size"] != "3Gi"
    sessions["persistence"]["size"] = "3Gi"
    changed = root / "Pulumi.dev.yaml"
    changed.write_text(yaml.safe_dump(doc, sort_keys=False))
    render(changed, root / "head" / "dev")
    return root


def test_diff_names_the_changed_object_and_line(renders):
    text = diff(renders / "base", renders / "head")
    print(f"diff comment: {len(text)} characters")
    assert text.startswith(MARKER)
    assert "| changed | `StatefulSet redis-stack/sessions` |" in text
    assert re.search(r"^-\s+storage: 2Gi$", text, re.MULTILINE)
    assert re.search(r"^\+\s+storage: 3Gi$", text, re.MULTILINE)
    assert "redis-stack/cache" not in text, "untouched deployments are not listed"


def test_identical_renders_say_no_changes(renders, tmp_path):
    shutil.copytree(renders / "base", tmp_path / "again")
    text = diff(renders / "base", tmp_path / "again")
    assert "No changes" in text and "```diff" not in text


def test_a_stack_only_in_head_is_all_added(renders, tmp_path):
    (tmp_path / "base").mkdir()
    text = diff(tmp_path / "base", renders / "head")
    assert "**dev**: " in text and "| removed |" not in text and "| added | `StatefulSet redis-stack/sessions` |" in text


def test_long_diffs_are_cut_to_fit_a_comment():
    big = [Change("changed", f"ConfigMap ns/cm-{i}", ["@@"] + [f"+line {j} " + "x" * 80 for j in range(400)]) for i in range(60)]
    text = render_markdown({"prod": big})
    assert len(text) <= 60000
    assert "more lines cut" in text and "left out to fit" in text
    assert "| changed | `ConfigMap ns/cm-59` |" in text, "the summary still lists every object"
    full = render_markdown({"prod": big}, max_chars=10**9)
    assert "left out" not in full and "more lines cut" not in full
