"""Byte sizes in Prometheus's own unit grammar (``alecthomas/units``
``ParseBase2Bytes``), which ``--storage.tsdb.retention.size`` and
``body_size_limit`` use.

Units are B, KB, MB, GB, TB, PB, EB (all powers of 1024) or KiB ... EiB.
Kubernetes' ``Gi``/``G`` and a bare number are refused by Prometheus, which
then does not start.
"""

from __future__ import annotations

import re
from typing import Annotated

from stacks.config.base import parsed

_PREFIXES = ("K", "M", "G", "T", "P", "E")
# Tried in this order, each on the whole value: "1GiB512MB" mixes them and is refused.
_IEC = {"B": 1} | {f"{p}iB": 1024 ** (i + 1) for i, p in enumerate(_PREFIXES)}
_OLD = {"B": 1} | {f"{p}B": 1024 ** (i + 1) for i, p in enumerate(_PREFIXES)}
_ELEMENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
HINT = "(examples: 512MB, 40GB, 1.5TB; units B KB MB GB TB or KiB MiB GiB TiB, all powers of 1024)"


def _parse(text: str, units: dict[str, int]) -> float | None:
    total = 0.0
    while text:
        match = _ELEMENT.match(text)
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if (not whole and not frac) or unit not in units:
            return None
        total += (int(whole or "0") + (int(frac) / 10 ** len(frac) if frac else 0)) * units[unit]
        text = text[match.end():]
    return total


def prometheus_bytes(value: str) -> int:
    """Bytes in ``value``, or ValueError where Prometheus refuses it."""
    text = value
    negative = text[:1] == "-"
    if text[:1] in ("-", "+"):
        text = text[1:]
    if text == "0":
        return 0
    total = _parse(text, _IEC) if text else None
    if total is None and text:
        total = _parse(text, _OLD)
    if total is None:
        if re.fullmatch(r"[0-9.]+", text):
            raise ValueError(f"{value!r} has no unit; Prometheus needs one {HINT}")
        if re.fullmatch(r"[0-9.]+(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?", text):
            raise ValueError(f"{value!r} is a Kubernetes quantity, not a Prometheus byte size {HINT}")
        raise ValueError(f"{value!r} is not a Prometheus byte size {HINT}")
    if total >= 2**63:
        raise ValueError(f"{value!r} is out of range")
    return -int(total) if negative else int(total)


PrometheusSize = Annotated[str, parsed(prometheus_bytes, lambda size: size <= 0, f"must be greater than zero {HINT}")]
