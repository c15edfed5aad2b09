"""Markdown diff of two offline renders, for a pull-request comment.

    python scripts/render_diff.py BASE_DIR HEAD_DIR [--out FILE] [--max-chars N]

Each DIR is either one render (``python -m stacks.render STACK --out DIR``:
``1-manifest/``, ``0-crd/``, ``cloud.json``, ``outputs.json``) or a folder
holding one render per stack (``DIR/dev``, ``DIR/prod``). Per stack it lists
added, removed and changed objects (Kubernetes objects by kind and
namespace/name, cloud resources by type and name, the stack outputs), then a
unified diff of each changed one. The comment stays under GitHub's 65,536
character limit: long diffs are cut, and once the budget is spent the rest
are only listed. Renders never hold secret values (stacks/render.py redacts
them), so neither does this.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

MARKER = "<!-- redis-platform-render-diff -->"
GITHUB_COMMENT_LIMIT = 65536
DEFAULT_MAX_CHARS = 60000  # room for the workflow's header and footer
MAX_DIFF_LINES = 150


@dataclass(frozen=True)
class Change:
    status: str  # added | removed | changed
    label: str
    diff: list[str]


def is_render(path: Path) -> bool:
    return (path / "outputs.json").is_file() or (path / "1-manifest").is_dir()


def stacks_of(base: Path, head: Path) -> dict[str, tuple[Path, Path]]:
    """stack name -> (base render, head render); a side may not exist."""
    if is_render(base) or is_render(head):
        return {head.name: (base, head)}
    names = {p.name for d in (base, head) if d.is_dir() for p in d.iterdir() if p.is_dir()}
    return {name: (base / name, head / name) for name in sorted(names)}


def _label_of_manifest(path: Path) -> str:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
        meta = doc.get("metadata", {})
        where = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        return f"{doc['kind']} {where}"
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return path.name


def objects(render: Path) -> dict[str, tuple[str, str]]:
    """key -> (label, text) of everything a render holds."""
    out: dict[str, tuple[str, str]] = {}
    for folder in ("0-crd", "1-manifest"):
        for path in sorted((render / folder).glob("*.yaml")):
            out[f"{folder}/{path.name}"] = (_label_of_manifest(path), path.read_text())
    cloud = render / "cloud.json"
    if cloud.is_file():
        for res in json.loads(cloud.read_text()):
            label = f"{res['type']} {res['name']}"
            out[f"cloud/{label}"] = (label, json.dumps(res, indent=2, sort_keys=True) + "\n")
    outputs = render / "outputs.json"
    if outputs.is_file():
        out["outputs.json"] = ("stack outputs", outputs.read_text())
    return out


def compare(base: Path, head: Path) -> list[Change]:
    old = objects(base) if base.is_dir() else {}
    new = objects(head) if head.is_dir() else {}
    changes = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (new.get(k) or old[k])[0]):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        label = (after or before)[0]
        diff = list(
            difflib.unified_diff(
                (before[1] if before else "").splitlines(),
                (after[1] if after else "").splitlines(),
                fromfile=f"base/{key}" if before else "/dev/null",
                tofile=f"head/{key}" if after else "/dev/null",
                lineterm="",
            )
        )
        changes.append(Change(status, label, diff))
    return changes


def _fence(lines: list[str], max_lines: int) -> str:
    shown = lines[:max_lines]
    if len(lines) > max_lines:
        shown.append(f"... {len(lines) - max_lines} more lines cut")
    body = "\n".join(shown).replace("```", "` ` `")  # a diff line must not close the fence
    return f"```diff\n{body}\n```"


def render_markdown(per_stack: dict[str, list[Change]], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    head = [MARKER, "## Offline render: base vs head", ""]
    if not any(per_stack.values()):
        names = ", ".join(per_stack) or "none"
        return "\n".join(head + [f"No changes in any stack (stacks: {names}).", ""])
    summary, details = [], []
    for stack, changes in per_stack.items():
        counts = {s: sum(c.status == s for c in changes) for s in ("added", "removed", "changed")}
        if not changes:
            summary.append(f"**{stack}**: no changes")
            continue
        summary.append(f"**{stack}**: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        summary += ["", "| | object |", "|---|---|"]
        summary += [f"| {c.status} | `{c.label}` |" for c in changes]
        summary.append("")
        for c in changes:
            details.append((f"<details><summary>{stack}: {c.status} <code>{c.label}</code></summary>\n\n", c))
    text = "\n".join(head + summary) + "\n"
    if len(text) > max_chars:
        cut = text[: max_chars - 200].rsplit("\n", 1)[0]
        return cut + "\n\n_Summary cut to fit a comment; see the render-diff artifact for all of it._\n"
    omitted = 0
    for opening, change in details:
        lines = MAX_DIFF_LINES if max_chars <= GITHUB_COMMENT_LIMIT else len(change.diff)
        block = opening + _fence(change.diff, lines) + "\n</details>\n"
        if len(text) + len(block) + 200 > max_chars:
            omitted += 1
            continue
        text += block
    if omitted:
        text += f"\n_{omitted} diffs left out to fit a comment; see the render-diff artifact for all of them._\n"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("head", type=Path)
    parser.add_argument("--out", type=Path, help="write the markdown here instead of stdout")
    parser.add_argument(
        "--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="cut the markdown to this size; 0 = no limit (artifact)"
    )
    args = parser.parse_args(argv)
    if not args.head.is_dir():
        print(f"render_diff: {args.head} is not a directory", file=sys.stderr)
        return 2
    per_stack = {name: compare(b, h) for name, (b, h) in stacks_of(args.base, args.head).items()}
    text = render_markdown(per_stack, args.max_chars or sys.maxsize)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
