"""The offline render of both real stacks: files, strict schema validation, no secret in clear."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from stacks.config import load_stack_config
from stacks.config.load import read_stack_file, values_from_runtime
from stacks.render import REDACTED, render_stack, write_render
from tests.crd_schema import is_custom, validate_custom
from tests.unit.conftest import ROOT

STACKS = ["dev", "prod"]


def target_version(stack: str) -> str:
    config, _ = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return load_stack_config(values_from_runtime(config)).kubernetes_version


@pytest.fixture(scope="module", params=STACKS)
def rendered(request, tmp_path_factory):
    stack = request.param
    out = tmp_path_factory.mktemp(f"render-{stack}")
    run = render_stack(stack)
    write_render(run, out)
    return stack, run, out


def manifests(out: Path) -> list[tuple[Path, dict]]:
    files = sorted((out / "1-manifest").glob("*.yaml")) + sorted((out / "0-crd").glob("*.yaml"))
    return [(f, yaml.safe_load(f.read_text())) for f in files]


def test_every_object_validates_strictly(rendered):
    stack, run, out = rendered
    version = target_version(stack)
    docs = manifests(out)
    assert len(docs) == len(run.kubernetes()) > 0
    for path, doc in docs:
        if is_custom(doc):
            # Another project's kind (cert-manager): its own CRD's schema, strictly.
            try:
                validate_custom(doc)
            except jsonschema.ValidationError as err:
                pytest.fail(f"{path.name} is not a valid {doc['kind']} for its CRD: {err.message} at {list(err.absolute_path)}")
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{path.name} is not a valid {doc.get('kind')} for Kubernetes {version}: {err.message}")


def test_files_are_named_like_render_yaml_to_directory(rendered):
    _, _, out = rendered
    for path, doc in manifests(out):
        ns = doc["metadata"].get("namespace", "default")
        expected = f"{doc['apiVersion'].replace('/', '_')}-{doc['kind'].lower()}-{ns}-{doc['metadata']['name']}.yaml"
        assert path.name == expected


def test_no_generated_secret_in_any_file(rendered):
    _, run, out = rendered
    texts = [p.read_text() for p in out.rglob("*") if p.is_file()]
    assert run.generated_secrets, "the stack generates passwords; the check must see them"
    for secret in run.generated_secrets:
        assert not any(secret in t for t in texts), "a generated secret was written in clear text"
    for path, doc in manifests(out):
        if doc["kind"] == "Secret":
            assert set(doc.get("stringData", {}).values()) <= {REDACTED}, path.name
            assert "data" not in doc


def test_outputs_are_written(rendered):
    stack, _, out = rendered
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["environment"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_cli_renders_and_summarises(stack, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "stacks.render", stack, "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"rendered stack {stack}" in proc.stdout
    assert "StorageClass" in proc.stdout
    assert (tmp_path / "cloud.json").exists()
    assert list((tmp_path / "1-manifest").glob("storage.k8s.io_v1-storageclass-*.yaml"))


def test_two_renders_are_identical(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_render(render_stack("prod"), first)
    write_render(render_stack("prod"), second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_text() == (second / rel).read_text(), rel
