"""Prometheus durations (``prometheus/common/model.ParseDuration``): what
Prometheus reads for intervals, timeouts and ``--storage.tsdb.retention.time``.

Units go from the largest to the smallest, each at most once (``1h30m``, not
``30m1h`` nor ``1m1m``); no decimals; a bare ``0`` is the only value without
a unit. Prometheus takes a zero interval as "use the default", which is never
what a stack file means, so the config refuses zero where a zero makes no
sense.
"""

from __future__ import annotations

import re
from typing import Annotated

from stacks.config.base import parsed

_UNITS_MS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
_DURATION = re.compile(r"^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$")
_MAX_NS = 2**63 - 1
HINT = "(examples: 30s, 15d, 1h30m; units y w d h m s ms, largest first, each once)"


def duration_ms(value: str) -> int:
    """Milliseconds in a Prometheus duration, or ValueError where Prometheus refuses it."""
    if value == "0":
        return 0
    match = _DURATION.match(value)
    if not value or not match:
        raise ValueError(f"{value!r} is not a Prometheus duration {HINT}")
    total = sum(int(n) * ms for n, ms in zip(match.groups(), _UNITS_MS.values()) if n is not None)
    if total * 10**6 > _MAX_NS:
        raise ValueError(f"{value!r} is longer than Prometheus can hold (about 292 years)")
    return total


def seconds(value: str) -> float:
    return duration_ms(value) / 1000


# Intervals, timeouts, retention: zero is refused.
Duration = Annotated[str, parsed(duration_ms, lambda ms: ms == 0, "is zero; Prometheus would silently use its default instead")]
