"""Strict validation of custom resources against their CRD's own schema.

kubernetes-validate knows the built-in kinds only. For a kind the program
renders from another project's CRD (cert-manager's Certificate), the CRD
itself is kept in tests/schemas/, and this checks an object against the
served version's openAPIV3Schema with jsonschema, strictly: a field the
schema does not declare is an error (the API server would prune it
silently; an SRE would never see it go).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMAS = Path(__file__).parent / "schemas"


@cache
def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, for every CRD in tests/schemas."""
    out = {}
    for path in sorted(SCHEMAS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    out[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
    return out


def crd_manifests() -> list[dict[str, Any]]:
    """The CRD objects themselves (for a real API server)."""
    return [d for p in sorted(SCHEMAS.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())
            if d and d.get("kind") == "CustomResourceDefinition"]


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

    walk(s)
    # metadata is the API server's ObjectMeta, not described by the CRD.
    s.setdefault("properties", {})["metadata"] = {"type": "object"}
    return s


def is_custom(manifest: dict[str, Any]) -> bool:
    return (manifest.get("apiVersion"), manifest.get("kind")) in crds()


def validate_custom(manifest: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError naming the first wrong field."""
    schema = crds().get((manifest["apiVersion"], manifest["kind"]))
    if schema is None:
        raise LookupError(f"no CRD in tests/schemas for {manifest['apiVersion']} {manifest['kind']}")
    jsonschema.validate(manifest, schema)
