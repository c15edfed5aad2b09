"""Cron schedules as the Kubernetes API server accepts them for a CronJob.

The API server validates ``spec.schedule`` with robfig/cron v3's
``ParseStandard`` (five fields, or a descriptor such as ``@daily``) and then
refuses any schedule containing ``TZ`` (the ``timeZone`` field replaced it).
This module follows that parser rule for rule, so a schedule this stack
accepts is one the API server accepts; ``tests/samples/grammar_samples.py``
holds the values both are checked on.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from stacks.config.go_duration import go_duration_ns

# (min, max, names) per field, as robfig/cron's bounds.
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = "@every "
# Go's strconv.Atoi: optional sign, decimal digits.
_ATOI = re.compile(r"^[+-]?[0-9]+$")
_INT64_MAX = 2**63 - 1


def _atoi(text: str, expr: str) -> int:
    if not _ATOI.match(text) or abs(int(text)) > _INT64_MAX:
        raise ValueError(f"{expr!r}: {text!r} is not a number")
    value = int(text)
    if value < 0:
        raise ValueError(f"{expr!r}: negative number {value}")
    return value


def _int_or_name(text: str, names: dict[str, int] | None, expr: str) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    return _atoi(text, expr)


def _check_range(expr: str, field: str, low: int, high: int, names: dict[str, int] | None) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        # robfig ignores whatever follows a '*' before the '/': "*-5" is "*".
        start, end = low, high
    else:
        start = _int_or_name(low_and_high[0], names, expr)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names, expr)
        else:
            raise ValueError(f"{expr!r}: too many '-' in the {field} field")
    if len(range_and_step) == 2:
        step = _atoi(range_and_step[1], expr)
        if len(low_and_high) == 1:
            end = high  # "N/step" means "N-max/step"
    elif len(range_and_step) > 2:
        raise ValueError(f"{expr!r}: too many '/' in the {field} field")
    else:
        step = 1
    if start < low:
        raise ValueError(f"{expr!r}: the {field} field starts below {low}")
    if end > high:
        raise ValueError(f"{expr!r}: the {field} field goes above {high}")
    if start > end:
        raise ValueError(f"{expr!r}: the {field} range starts after it ends")
    if step == 0:
        raise ValueError(f"{expr!r}: a step must be positive")


def check_schedule(value: str) -> str:
    """``value`` if the API server would accept it as a CronJob schedule."""
    hint = "(five fields 'minute hour day-of-month month day-of-week', e.g. '0 3 * * *', or @daily)"
    if not value:
        raise ValueError(f"empty schedule {hint}")
    if "TZ" in value:
        raise ValueError(f"{value!r}: TZ= and CRON_TZ= are refused by Kubernetes; schedules run in the controller's time zone (UTC)")
    if value.startswith("@"):
        if value in DESCRIPTORS:
            return value
        if value.startswith(_EVERY):
            try:
                if go_duration_ns(value[len(_EVERY):]) < 10**9:
                    raise ValueError("under a second")
            except ValueError:
                raise ValueError(f"{value!r}: @every needs a Go duration of at least 1s, e.g. '@every 6h'") from None
            return value
        raise ValueError(f"{value!r} is not a cron descriptor ({', '.join(DESCRIPTORS)}, or @every <duration>)")
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"{value!r} is not a cron schedule: it has {len(fields)} fields, not 5 {hint}")
    for text, (name, low, high, names) in zip(fields, _FIELDS):
        ranges = [r for r in text.split(",") if r]
        if not ranges:
            # robfig accepts a field of bare commas; such a schedule never runs.
            raise ValueError(f"{value!r}: the {name} field has no value, so the job would never run")
        for expr in ranges:
            _check_range(expr, name, low, high, names)
    return value


Schedule = Annotated[str, AfterValidator(check_schedule)]
