"""How far apart the runs of a cron schedule can be, for alerts that expect
a CronJob to have succeeded recently.

Only the forms stacks/config/backup.py accepts: five fields of numbers,
ranges, steps and lists, or @hourly/@daily/@weekly/@monthly/@yearly.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *"}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
# Past this a schedule is "rare": monthly and yearly ones get this bound.
_HORIZON_DAYS = 35


def _field(text: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        start, end = (lo, hi) if base == "*" else (int(base.split("-")[0]), int(base.split("-")[-1]))
        out.update(range(start, end + 1, int(step or 1)))
    return out


def max_gap_seconds(schedule: str) -> int:
    """Longest time between two consecutive runs, scanning minute by minute."""
    fields = _MACROS.get(schedule, schedule).split()
    minute, hour, dom, month, dow = (_field(f, lo, hi) for f, (lo, hi) in zip(fields, _RANGES))
    dow = {d % 7 for d in dow}
    # Cron's rule: when both day fields are restricted, either may match.
    both = fields[2] != "*" and fields[4] != "*"
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    runs = []
    t = start
    while t < start + timedelta(days=_HORIZON_DAYS) and len(runs) < 20000:
        day_ok = (t.day in dom or (t.isoweekday() % 7) in dow) if both else (t.day in dom and (t.isoweekday() % 7) in dow)
        if t.minute in minute and t.hour in hour and t.month in month and day_ok:
            runs.append(t)
        t += timedelta(minutes=1)
    if len(runs) < 2:
        return _HORIZON_DAYS * 86400
    return int(max((b - a).total_seconds() for a, b in zip(runs, runs[1:])))
