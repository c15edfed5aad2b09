"""Go's ``time.ParseDuration`` grammar: what cAdvisor's flags and robfig's
``@every`` take. Unlike Prometheus durations, ``d``, ``w`` and ``y`` are not
units and decimals such as ``1.5h`` are allowed."""

from __future__ import annotations

import re
from typing import Annotated

from stacks.config.base import parsed

_UNITS_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_ELEMENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_MAX_NS = 2**63 - 1


def go_duration_ns(value: str) -> int:
    """Nanoseconds in ``value``, or ValueError where Go's parser refuses it."""
    orig = value
    negative = value[:1] == "-"
    if value[:1] in "+-" and value:
        value = value[1:]
    if value == "0":
        return 0
    if not value:
        raise ValueError(f"{orig!r} is not a Go duration")
    total = 0.0
    while value:
        match = _ELEMENT.match(value)
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise ValueError(f"{orig!r} is not a Go duration")
        if unit not in _UNITS_NS:
            raise ValueError(f"{orig!r}: {unit or 'a number without unit'!r} is not a Go duration unit (ns, us, ms, s, m, h)")
        total += (int(whole or "0") + (int(frac) / 10 ** len(frac) if frac else 0)) * _UNITS_NS[unit]
        if total > _MAX_NS:
            raise ValueError(f"{orig!r} is out of range")
        value = value[match.end():]
    return -int(total) if negative else int(total)


GoDuration = Annotated[str, parsed(go_duration_ns, lambda ns: ns <= 0, "must be longer than zero (examples: 10s, 1m, 1h30m)")]
