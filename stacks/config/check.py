"""The one path every run takes through config: the real program and the
offline render both call ``check_config``, so neither can accept what the
other refuses, and both print the same warnings."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.config.likely_wrong import config_warnings
from stacks.config.load import load_stack_config, values_from_runtime
from stacks.config.model import StackConfig


@dataclass(frozen=True)
class Checked:
    config: StackConfig
    warnings: tuple[str, ...]


def check_config(all_config: Mapping[str, Any], secret_keys: Collection[str]) -> Checked:
    """``all_config``: every ``namespace:key`` the engine (or the stack file)
    holds; ``secret_keys``: those holding secrets. Raises ConfigError."""
    cfg = load_stack_config(values_from_runtime(all_config))
    return Checked(cfg, tuple(config_warnings(cfg, secret_keys)))
