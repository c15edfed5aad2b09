"""Imports run one way: stacks/ -> components/<package>/ -> components/common/.

Read from the source with ``ast`` (nothing is imported), so a violation is
found even in a module no test happens to load, and inside functions too.
The rules (docs/architecture.md, "Layout and import direction"):

- nothing under components/ imports stacks/ (or any other top-level package
  of this repository: tests, bench, policies, ...);
- a component package imports only itself and components/common/;
  components/common/ imports only itself;
- a renderer never imports Pulumi, directly or through a module it imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PULUMI = ("pulumi", "pulumi_kubernetes", "pulumi_aws", "pulumi_random")
COMMON = "components.common"

# The renderers docs/architecture.md names (a package stands for all its
# modules), plus every module that says of itself "no Pulumi import".
RENDERERS = (
    "components.redis.conf",
    "components.redis.sentinel_conf",
    "components.redis.cluster_scripts",
    "components.redis.sentinel_scripts",
    "components.haproxy.cfg",
    "components.monitoring.prometheus_config",
    "components.monitoring.alertmanager_config",
    "components.monitoring.grafana_provisioning",
    "components.monitoring.federation_config",
    "components.monitoring.rules",
    "components.monitoring.dashboards",
    "components.operations.scripts",
    "components.operations.backup",
    "components.operations.backup_agent",
    "components.operations.restore",
    "components.operations.drill",
    "components.operations.migration",
)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules(root: Path, top: tuple[str, ...] = ("components", "stacks")) -> dict[str, tuple[Path, ast.Module]]:
    """Every module below the ``top`` folders: name -> (path, parsed source)."""
    out = {}
    for folder in top:
        for path in sorted((root / folder).rglob("*.py")):
            out[_module_name(path, root)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, tree: ast.Module, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved;
    ``from pkg import mod`` counts as importing pkg.mod when that is a module."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if sub in known else target))
    return list(dict.fromkeys(out))


def _package(module: str) -> str:
    """The component package a module under components/ belongs to."""
    return ".".join(module.split(".")[:2])


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _direction(importer: str, imported: str, project: set[str]) -> str | None:
    """Why this import runs against the layers, or None when it does not."""
    if not _within(importer, "components"):
        return None
    top = imported.split(".")[0]
    if top not in project or imported == "components":
        return None
    if top != "components":
        return f"components/ must not import {top}/ (a higher layer)"
    own = _package(importer)
    if own == COMMON and not _within(imported, COMMON):
        return "components/common/ imports only itself"
    if own != COMMON and not (_within(imported, own) or _within(imported, COMMON)):
        return f"{own} may import only itself and {COMMON} (no sibling component package)"
    return None


def _with_parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__, a/b/__init__ and then a.b.c."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _pulumi_chain(start: str, graph: dict[str, list[str]], direct: dict[str, str]) -> list[str] | None:
    """The import chain from ``start`` to a module that imports Pulumi, if any."""
    seen, queue = {start: [start]}, [start]
    while queue:
        mod = queue.pop(0)
        if mod in direct:
            return seen[mod] + [direct[mod]]
        for nxt in graph.get(mod, []):
            if nxt not in seen:
                seen[nxt] = seen[mod] + [nxt]
                queue.append(nxt)
    return None


def renderer_modules(modules: dict[str, tuple[Path, ast.Module]], named: tuple[str, ...]) -> list[str]:
    out = [m for m in modules if any(_within(m, r) for r in named)]
    for name, (_, tree) in modules.items():
        doc = ast.get_docstring(tree) or ""
        if "no pulumi import" in doc.lower() and name not in out:
            out.append(name)
    return sorted(out)


def violations(root: Path, named_renderers: tuple[str, ...] = RENDERERS) -> list[str]:
    modules = read_modules(root)
    known = set(modules)
    project = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    out: list[str] = []
    graph: dict[str, list[str]] = {}
    direct: dict[str, str] = {}
    for name, (path, tree) in modules.items():
        rel = path.relative_to(root)
        for line, imported in imports_of(name, path, tree, known):
            why = _direction(name, imported, project)
            if why:
                out.append(f"{rel}:{line}: imports {imported}: {why}")
            if imported.split(".")[0] in PULUMI:
                direct.setdefault(name, imported)
            graph.setdefault(name, []).extend(m for m in _with_parents(imported) if m in known)
    for name in renderer_modules(modules, named_renderers):
        chain = _pulumi_chain(name, graph, direct)
        if chain:
            out.append(f"{modules[name][0].relative_to(root)}: renderer imports Pulumi: {' -> '.join(chain)}")
    return out


def test_the_repository_imports_run_one_way():
    assert violations(ROOT) == []


def test_every_named_renderer_exists():
    modules = read_modules(ROOT)
    missing = [r for r in RENDERERS if not any(_within(m, r) for m in modules)]
    assert missing == []


def test_redis_and_haproxy_know_nothing_of_operations():
    modules = read_modules(ROOT)
    known = set(modules)
    offenders = [
        f"{name}: {imported}"
        for name, (path, tree) in modules.items()
        if _within(name, "components.redis") or _within(name, "components.haproxy")
        for _, imported in imports_of(name, path, tree, known)
        if _within(imported, "components.operations")
    ]
    assert offenders == []


# The checker itself, on small made-up trees: each rule must catch its case.

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for pkg in ("components", "components/common", "components/redis", "components/haproxy",
                "components/operations", "stacks"):
        init = tmp_path / pkg / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text("")
    return tmp_path


CLEAN = {
    "components/common/k8s.py": '"""Pure: no Pulumi import."""\nimport hashlib\n',
    "components/redis/conf.py": "from components.common.k8s import hashlib\n",
    "components/redis/cluster.py": "import pulumi\nfrom components.redis import conf\nfrom . import conf as again\n",
    "components/operations/backup_agent.py": "from components.common import k8s\n",
    "stacks/redis.py": "from components.redis.cluster import x\nfrom components.operations.backup_agent import y\n",
}


def test_checker_passes_a_tree_that_keeps_the_rules(tmp_path):
    assert violations(_tree(tmp_path, CLEAN), named_renderers=("components.redis.conf",)) == []


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        ("components/redis/statefulset.py", "from components.operations.backup_agent import BackupAgent\n",
         "components.redis may import only itself and components.common"),
        ("components/redis/statefulset.py", "from components import operations\n",
         "imports components.operations: components.redis may import only itself"),
        ("components/haproxy/frontend.py", "def f():\n    from ..redis import conf\n",
         "imports components.redis.conf: components.haproxy may import only itself"),
        ("components/common/k8s.py", "import components.redis.conf\n", "components/common/ imports only itself"),
        ("components/operations/drill.py", "from stacks.redis import build\n", "components/ must not import stacks/"),
        ("components/redis/conf.py", "import pulumi_kubernetes as k8s\n",
         "renderer imports Pulumi: components.redis.conf -> pulumi_kubernetes"),
        ("components/redis/conf.py", "from components.redis import cluster\n",
         "renderer imports Pulumi: components.redis.conf -> components.redis.cluster -> pulumi"),
        ("components/operations/target.py", '"""Pure: no Pulumi import."""\nfrom pulumi import Output\n',
         "renderer imports Pulumi: components.operations.target -> pulumi"),
    ],
)
def test_checker_finds_each_kind_of_wrong_import(tmp_path, rel, source, expected):
    found = violations(_tree(tmp_path, CLEAN | {rel: source}), named_renderers=("components.redis.conf",))
    assert any(expected in v for v in found), found
