"""Seconds of refused writes after a SIGKILL, measured by a probe that writes
every PROBE_INTERVAL seconds and reconnects after each failure."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from bench.result import Result, emit, log

PROBE_INTERVAL = 0.02
PROBE_TIMEOUT = 0.5
GIVE_UP_AFTER = 90.0


@dataclass
class Probe:
    """Writes one key at a time through ``connect()``; a failed write drops the connection."""

    connect: Callable[[], redis.Redis]
    key: str
    client: redis.Redis | None = None
    ok: list[float] = field(default_factory=list)
    failed: list[float] = field(default_factory=list)
    last_error: str = ""

    def write(self) -> bool:
        now = time.monotonic()
        try:
            if self.client is None:
                self.client = self.connect()
            self.client.set(self.key, now)
        except redis.RedisError as err:
            self.failed.append(now)
            self.last_error = f"{type(err).__name__}: {err}"
            self.close()
            return False
        self.ok.append(time.monotonic())
        return True

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def outage(kill: Callable[[], None], until_healed: Probe, also: tuple[Probe, ...] = (),
           ready: tuple[Probe, ...] | None = None,
           events: dict[str, Callable[[], bool]] | None = None) -> dict[str, float]:
    """Once every ``ready`` probe (default: all) writes, kill, then probe until
    ``until_healed`` writes again (and 1 s more for ``also``).

    Returns seconds from the kill to the first acknowledged write of
    ``until_healed``; for each probe in ``also`` the span of its refused
    writes (first to last refusal, plus one probe interval; 0 if none); and
    for each of ``events`` the seconds until it first held (polled with the
    probes), which splits the outage into its steps.
    """
    pending = dict(events or {})
    seen: dict[str, float] = {}
    probes = (until_healed, *also)
    deadline = time.monotonic() + 10
    while not all(p.write() for p in (probes if ready is None else ready)):
        if time.monotonic() > deadline:
            raise RuntimeError("writes do not succeed before the kill")
        time.sleep(PROBE_INTERVAL)
    for p in (*probes, *(ready or ())):
        p.close()
        p.ok.clear()
        p.failed.clear()
    killed_at = time.monotonic()
    kill()
    healed_at = None
    while time.monotonic() - killed_at < GIVE_UP_AFTER:
        for p in probes:
            # Healed: the first acknowledged write after at least one refusal.
            if p.write() and p is until_healed and healed_at is None and p.failed:
                healed_at = p.ok[-1]
        for name, happened in list(pending.items()):
            if happened():
                seen[name] = time.monotonic() - killed_at
                del pending[name]
        if healed_at is not None and time.monotonic() - healed_at > 1.0:
            break
        time.sleep(PROBE_INTERVAL)
    for p in probes:
        p.close()
    if healed_at is None:
        # Counted as GIVE_UP_AFTER (a lower bound) and reported, not hidden.
        log(f"writes to {until_healed.key} did not resume within {GIVE_UP_AFTER}s of the kill; "
            f"last refusal: {until_healed.last_error}")
    out = {until_healed.key: GIVE_UP_AFTER if healed_at is None else healed_at - killed_at,
           "unhealed": float(healed_at is None)}
    for p in also:
        refused = [t for t in p.failed if t >= killed_at]
        out[p.key] = (refused[-1] - refused[0] + PROBE_INTERVAL) if refused else 0.0
    return out | seen


def emit_median(name: str, runs: list[float], floor_s: float, floor_is: str, command: str, extra: dict) -> Result:
    """Median of the runs; a run that never healed counts as GIVE_UP_AFTER seconds."""
    value = statistics.median(runs)
    extra = {"unhealed_runs": sum(r >= GIVE_UP_AFTER for r in runs), "give_up_after_s": GIVE_UP_AFTER, **extra}
    log(f"{name}: median {value:.2f}s over {len(runs)} run(s) {[round(r, 2) for r in runs]} (floor {floor_s}s)")
    return emit(Result(name, value, "s", floor_s, command, floor_is, floor_is,
                       {"runs": [round(r, 3) for r in runs], **extra}))
