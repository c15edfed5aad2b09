"""The config's grammar checks against the shared sample lists: every
``accept`` value passes, every ``refuse`` and ``refuse_stricter`` value is
refused. The consumers' own verdicts on the same lists are checked in
tests/integration/config."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stacks.config.cidr import check_cidr
from stacks.config.cron import check_schedule
from stacks.config.durations import Duration
from stacks.config.go_duration import GoDuration
from stacks.config.selectors import check_selector
from stacks.config.sizes import PrometheusSize
from stacks.config.targets import Target
from pydantic import TypeAdapter
from tests.samples.grammar_samples import SAMPLES

CHECKS: dict[str, Callable[[str], object]] = {
    "cron": check_schedule,
    "cidr": check_cidr,
    "prometheus_duration": TypeAdapter(Duration).validate_python,
    "go_duration": TypeAdapter(GoDuration).validate_python,
    "prometheus_size": TypeAdapter(PrometheusSize).validate_python,
    "scrape_target": TypeAdapter(Target).validate_python,
    "selector": check_selector,
}


def cases(verdict: str):
    return [pytest.param(grammar, value, id=f"{grammar}-{value!r}")
            for grammar, lists in SAMPLES.items() for value in lists[verdict]]


def test_every_grammar_has_samples_and_a_check():
    assert set(SAMPLES) == set(CHECKS)
    for grammar, lists in SAMPLES.items():
        assert len(lists["accept"]) >= 5 and len(lists["refuse"]) >= 5, grammar
        assert not set(lists["accept"]) & (set(lists["refuse"]) | set(lists["refuse_stricter"])), grammar


@pytest.mark.parametrize("grammar, value", cases("accept"))
def test_accepted(grammar, value):
    CHECKS[grammar](value)


@pytest.mark.parametrize("grammar, value", cases("refuse") + cases("refuse_stricter"))
def test_refused(grammar, value):
    with pytest.raises(ValueError):
        CHECKS[grammar](value)
