"""The file layer: ``Pulumi.<stack>.yaml`` read the way the Pulumi CLI reads it.

The CLI parses stack files with Go's YAML library, which refuses duplicate
keys; PyYAML keeps the last one silently, so a second ``storage:`` would
quietly replace the first here and not there. Keys must be
``<namespace>:<name>`` as the CLI's ``config.ParseKey`` requires. Every
problem is one line that names the file position or the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from stacks.config.errors import PROJECT, ConfigError

# What a `secure:` value becomes when the stack file is read without the
# Pulumi CLI (offline render): never the ciphertext, never a real secret.
UNDECRYPTED = "<encrypted in the stack file; not decrypted offline>"


def _where(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _describe(node: yaml.Node) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), f"the value {node.value!r}")


def _child(path: str, key: str) -> str:
    if not path:
        return key
    return f"{path}.{key}" if path != "config" else key


def _find_duplicate(node: yaml.Node, path: str, name: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    raise ConfigError(
                        f"config error: {_child(path, key)}: duplicate key at {_where(key_node.start_mark)} of {name} "
                        f"(first at line {seen[key].start_mark.line + 1}); the Pulumi CLI refuses duplicate keys"
                    )
                seen[key] = key_node
                _find_duplicate(value_node, _child(path, key), name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _find_duplicate(item, f"{path}[{index}]", name)


def parse_stack_text(text: str, name: str) -> dict[str, Any]:
    """The stack file's ``config`` mapping (``project:key`` -> value)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (err.context, err.problem) if p)
        raise ConfigError(f"config error: {name}{where}: YAML syntax: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config error: {name}: YAML syntax: {' '.join(str(err).split())}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"config error: {name}: a stack file is a mapping with a 'config' key, not {_describe(root)}")
    _find_duplicate(root, "", name)
    doc = yaml.safe_load(text)
    config_node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "config"), None)
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f"config error: {name}: 'config' must be a mapping of <namespace>:<key> entries, not {_describe(config_node)}")
    out = {}
    for key, value in config.items():
        parts = key.split(":") if isinstance(key, str) else []
        if len(parts) == 3 and parts[1] == "config":
            # The CLI's legacy spelling <namespace>:config:<name>.
            parts = [parts[0], parts[2]]
        if len(parts) == 1 and parts[0]:
            # The CLI reads a bare key as the project's own (its loader's
            # stackConfigNamespacedWithProject), and so must the render.
            parts = [PROJECT, parts[0]]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(
                f"config error: {key}: not a config key of the form <namespace>:<name> "
                f"(this project's keys are {PROJECT}:<name>)"
            )
        out[":".join(parts)] = value
    return out


def _strip_secure(value: Any, found: list[bool]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.append(True)
            return UNDECRYPTED
        return {k: _strip_secure(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v, found) for v in value]
    return value


def read_stack_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """``Pulumi.<stack>.yaml`` as the engine would pass it: every key
    (``project:key``) to a string, plus the keys holding secrets."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config error: cannot read {path}: {err}") from None
    config = parse_stack_text(text, path.name)
    out: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        found: list[bool] = []
        value = _strip_secure(value, found)
        if found:
            secret_keys.add(key)
        # default=str: YAML 1.1 reads 2024-01-01 as a date; the CLI passes it as text.
        out[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out, secret_keys
