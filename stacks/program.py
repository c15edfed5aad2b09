"""The Pulumi program: read config once, build the platform, export outputs."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG

from stacks.config import ConfigError, StackConfig, load_stack_config
from stacks.config.load import values_from_runtime
from stacks.platform import build_platform


def config_from_runtime() -> StackConfig:
    return load_stack_config(values_from_runtime(CONFIG.get()))


def main() -> dict:
    try:
        cfg = config_from_runtime()
    except ConfigError as err:
        # RunError is reported by the language host as one line, no traceback,
        # and nothing has been registered yet.
        raise pulumi.RunError(str(err)) from None
    outputs = build_platform(cfg)
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
