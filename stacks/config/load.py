"""Read the stack config once, from the Pulumi runtime or from a stack file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from stacks.config.cross_rules import check_cross_section
from stacks.config.errors import PROJECT, ConfigError, from_validation_error
from stacks.config.model import StackConfig
from stacks.config.stack_file import UNDECRYPTED, read_stack_file

__all__ = ["PROJECT", "UNDECRYPTED", "load_stack_config", "read_stack_file", "values_from_runtime"]

# Namespaces this project's stacks use besides its own; never taken for a misspelling.
KNOWN_NAMESPACES = {"aws", "kubernetes", "pulumi", "random"}
MAX_MISSPELLING = 3


def load_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate bare-key config values (``{"environment": "dev", ...}``):
    every field, then the rules that span sections."""
    try:
        cfg = StackConfig.model_validate(dict(values))
    except ValidationError as err:
        raise from_validation_error(PROJECT, err) from None
    check_cross_section(cfg)
    return cfg


def _decode(raw: Any) -> Any:
    # The engine hands every value over as a string; objects and lists as JSON.
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of two neighbours counts once
    (``platfrom``), as do an insertion, a deletion and a substitution."""
    d = [[max(i, j) if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def check_namespace_spelling(keys: Any) -> None:
    """A key under a misspelled namespace is silently not this project's: a
    ``redis-platfrom:deployments`` would leave no deployments, and ``pulumi
    up`` would delete every one."""
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == PROJECT or namespace in KNOWN_NAMESPACES:
            continue
        if edit_distance(namespace.lower(), PROJECT) <= MAX_MISSPELLING:
            raise ConfigError(
                f"config error: {key}: namespace {namespace!r} looks like a misspelling of {PROJECT!r} "
                f"(write {PROJECT}:{name}); keys under it would be ignored"
            )


def values_from_runtime(all_config: Mapping[str, Any]) -> dict[str, Any]:
    """This project's keys from the engine's ``project:key -> value`` map."""
    check_namespace_spelling(all_config.keys())
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: _decode(v) for k, v in all_config.items() if k.startswith(prefix)}
