"""One measured figure next to its baseline, printed as one JSON line."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

REQUIRED = ("name", "value", "unit", "baseline", "ratio", "command")


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    baseline: float
    # What produced ``value`` and ``baseline``; secrets are redacted.
    command: str
    baseline_command: str
    # What the baseline is, in words (e.g. "bare redis-server, defaults, no persistence").
    baseline_is: str
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline

    def to_json(self) -> str:
        doc = asdict(self)
        extra = doc.pop("extra")
        # Rounded first, so ratio == value / baseline holds for the printed numbers.
        value, baseline = round(self.value, 4), round(self.baseline, 4)
        doc.update(value=value, baseline=baseline, ratio=round(value / baseline, 4))
        ordered = {k: doc[k] for k in REQUIRED}
        ordered.update({k: v for k, v in doc.items() if k not in ordered})
        ordered.update(extra)
        return json.dumps(ordered, sort_keys=False)


def emit(result: Result) -> Result:
    """Print on the real stdout (the only thing printed there), even while
    ``__main__`` sends the harnesses' own prints to stderr."""
    print(result.to_json(), file=sys.__stdout__, flush=True)
    return result


_STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress for humans: stderr, so stdout stays JSON lines only."""
    print(f"[bench {time.monotonic() - _STARTED:5.0f}s] {message}", file=sys.stderr, flush=True)
