"""The Pulumi program: read config once, build the platform, export outputs."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG, is_config_secret

from stacks.config import ConfigError
from stacks.config.check import Checked, check_config
from stacks.platform import build_platform


def checked_from_runtime() -> Checked:
    config = dict(CONFIG.get())
    return check_config(config, {k for k in config if is_config_secret(k)})


def main() -> dict:
    try:
        checked = checked_from_runtime()
    except ConfigError as err:
        # RunError is reported by the language host as one line, no traceback,
        # and nothing has been registered yet.
        raise pulumi.RunError(str(err)) from None
    # The engine shows these as warnings; the offline render's mock engine
    # records them and prints them to stderr.
    for line in checked.warnings:
        pulumi.log.warn(line)
    outputs = build_platform(checked.config)
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
