"""Pulumi.yaml declares the project's scalar keys with the defaults the models apply."""

from __future__ import annotations

import yaml

from stacks.config import StackConfig
from tests.unit.conftest import ROOT


def test_project_file_names_project_and_runtime():
    doc = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert doc["name"] == "redis-platform"
    assert doc["runtime"]["name"] == "python"


def test_declared_keys_match_model_fields_and_defaults():
    doc = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    fields = {f.alias or name: f for name, f in StackConfig.model_fields.items()}
    declared = doc["config"]
    assert declared, "Pulumi.yaml declares no config keys"
    for key, decl in declared.items():
        bare = key.removeprefix("redis-platform:")
        assert bare in fields, f"{key} is declared but the model has no such key"
        assert decl["description"]
        if "default" in decl:
            assert decl["default"] == fields[bare].default, key
        else:
            assert fields[bare].is_required(), f"{key} has a model default but none in Pulumi.yaml"
    scalar = {a for a, f in fields.items() if f.annotation in (str,) or a in {"kubernetesVersion", "environment", "clusterName", "redisNamespace"}}
    assert scalar <= {k.removeprefix("redis-platform:") for k in declared}
