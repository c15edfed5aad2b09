"""Typed stack configuration: the only place defaults and cross-field rules live."""

from stacks.config.errors import ConfigError
from stacks.config.model import StackConfig
from stacks.config.load import PROJECT, load_stack_config

__all__ = ["ConfigError", "PROJECT", "StackConfig", "load_stack_config"]
