"""Read the stack config once, from the Pulumi runtime or from a stack file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stacks.config.errors import ConfigError, from_validation_error
from stacks.config.model import StackConfig

PROJECT = "redis-platform"
# What a `secure:` value becomes when the stack file is read without the
# Pulumi CLI (offline render): never the ciphertext, never a real secret.
UNDECRYPTED = "<encrypted in the stack file; not decrypted offline>"


def load_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate bare-key config values (``{"environment": "dev", ...}``)."""
    try:
        return StackConfig.model_validate(dict(values))
    except ValidationError as err:
        raise from_validation_error(PROJECT, err) from None


def _decode(raw: Any) -> Any:
    # The engine hands every value over as a string; objects and lists as JSON.
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def values_from_runtime(all_config: Mapping[str, Any]) -> dict[str, Any]:
    """This project's keys from the engine's ``project:key -> value`` map."""
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: _decode(v) for k, v in all_config.items() if k.startswith(prefix)}


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
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"config error: cannot read {path}: {err}") from None
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"config error: {path}: 'config' must be a mapping")
    out: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        found: list[bool] = []
        value = _strip_secure(value, found)
        if found:
            secret_keys.add(key)
        out[key] = value if isinstance(value, str) else json.dumps(value)
    return out, secret_keys
