"""Offline render: ``python -m stacks.render STACK --out DIR``.

Runs the real program for a stack under Pulumi's mock runtime with the values
of ``Pulumi.STACK.yaml`` and writes every Kubernetes object as YAML, one file
per object, laid out like pulumi-kubernetes' ``renderYamlToDirectory``, plus
``cloud.json`` (AWS and random resources with their inputs) and
``outputs.json`` (stack outputs, secrets masked). No cluster, cloud or Pulumi
CLI needed. Secret values are never written: Secret objects carry a
placeholder that says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

import pulumi

from stacks.config import ConfigError
from stacks.config.load import read_stack_file
from stacks.harness import Run, run_program
from stacks.program import main as program_main

ROOT = Path(__file__).resolve().parent.parent
REDACTED = "<redacted: secret value generated or decrypted at deploy time, never rendered>"
_TOP_ORDER = ("apiVersion", "kind", "metadata")


def redact(manifest: dict[str, Any]) -> dict[str, Any]:
    if manifest.get("kind") != "Secret":
        return manifest
    out = dict(manifest)
    for key in ("data", "stringData"):
        if key in out and out[key]:
            out[key] = {k: REDACTED for k in out[key]}
    if "data" in out:
        # data must be base64; the placeholder is text, so it moves to stringData.
        out["stringData"] = {**out.pop("data"), **out.get("stringData", {})}
    return out


def _ordered(manifest: dict[str, Any]) -> dict[str, Any]:
    head = {k: manifest[k] for k in _TOP_ORDER if k in manifest}
    return head | {k: manifest[k] for k in sorted(manifest) if k not in head}


def manifest_path(manifest: dict[str, Any]) -> Path:
    meta = manifest.get("metadata", {})
    namespace = meta.get("namespace") or "default"
    api = manifest["apiVersion"].replace("/", "_")
    stem = f"{api}-{manifest['kind'].lower()}-{namespace}-{meta['name']}.yaml"
    folder = "0-crd" if manifest["kind"] == "CustomResourceDefinition" else "1-manifest"
    return Path(folder) / stem


def dump_yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120)


def write_render(run: Run, out: Path) -> Counter:
    kinds: Counter = Counter()
    for folder in ("0-crd", "1-manifest"):
        # A previous render's files would otherwise linger as if still produced.
        stale = out / folder
        if stale.is_dir():
            for old in stale.glob("*.yaml"):
                old.unlink()
    for manifest in run.kubernetes():
        path = out / manifest_path(manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise RuntimeError(f"two objects render to {path}")
        path.write_text(dump_yaml(_ordered(redact(manifest))))
        kinds[manifest["kind"]] += 1
    # Sorted: registration order depends on how outputs resolve, and the
    # file must not change between two renders of the same stack.
    cloud = sorted(
        (
            {"type": r.typ, "name": r.name, "inputs": r.inputs}
            for r in run.resources
            if not r.is_kubernetes and not r.typ.startswith(("redis-platform:", "pulumi:"))
        ),
        key=lambda r: (r["type"], r["name"]),
    )
    (out / "cloud.json").write_text(json.dumps(cloud, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(json.dumps(run.outputs, indent=2, sort_keys=True) + "\n")
    for r in cloud:
        kinds[r["type"]] += 1
    return kinds


def render_stack(stack: str, stack_file: Path | None = None) -> Run:
    """Read the stack file, then run the program on it. Raises ConfigError.

    The config itself is checked by the program (``stacks.config.check``),
    exactly as in a real run, before it registers anything."""
    path = stack_file or ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError(f"config error: no stack file {path}")
    config, secret_keys = read_stack_file(path)
    try:
        return run_program(program_main, config, secret_keys, stack=stack)
    except pulumi.RunError as err:
        raise ConfigError(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.render", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--stack-file", type=Path, help="read this file instead of Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    try:
        run = render_stack(args.stack, args.stack_file)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    for line in run.warnings:
        print(line, file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = write_render(run, args.out)
    print(f"rendered stack {args.stack} into {args.out}:")
    for kind, count in sorted(kinds.items()):
        print(f"  {count:4d}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
