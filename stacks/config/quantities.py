"""Kubernetes resource quantities, parsed so sizes can be checked and derived."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from stacks.config.base import parsed

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m)?$")


def memory_bytes(value: str) -> int:
    """Bytes in a memory quantity such as ``512Mi`` or ``2Gi``."""
    match = _MEMORY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a memory quantity (examples: 512Mi, 2Gi, 1G)")
    number, unit = match.groups()
    unit = unit or ""
    factor = _BINARY.get(unit) or _DECIMAL[unit]
    result = int(float(number) * factor)
    if result <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return result


def cpu_millicores(value: str) -> int:
    """Millicores in a CPU quantity such as ``500m`` or ``2``."""
    match = _CPU.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a CPU quantity (examples: 250m, 1, 1.5)")
    number, milli = match.groups()
    result = int(float(number)) if milli else int(float(number) * 1000)
    if result <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return result


def _check_memory(value: str) -> str:
    memory_bytes(value)
    if value[-1:].isdigit():
        # Kubernetes reads a bare number as bytes: "5" is five bytes, never what was meant.
        raise ValueError(f"{value!r} has no unit, so Kubernetes reads it as {value} bytes (examples: 512Mi, 2Gi, 1G)")
    return value


Memory = Annotated[str, AfterValidator(_check_memory)]
Cpu = Annotated[str, parsed(cpu_millicores)]
