"""Graded alerts (a warning and a critical of one name): the warning holds
only short of the critical threshold, so one cause never notifies twice."""

from __future__ import annotations

import pytest

from components.monitoring.rules.model import Level, graded


def _level(threshold: float) -> Level:
    return Level(threshold, "1m", "summary", "description")


def _firing(alerts, value: float) -> list[str]:
    # The band expressions are comparisons joined by `and`: as PromQL filters
    # on one series they mean what they mean as Python booleans.
    return [a.severity for a in alerts if eval(a.expr, {}, {"v": value})]  # noqa: S307


@pytest.mark.parametrize("falling, expected", [
    (False, {0.5: [], 0.9: [], 0.92: ["warning"], 0.97: ["warning"], 0.98: ["critical"], 1.0: ["critical"]}),
    (True, {0.5: [], 0.2: [], 0.15: [], 0.1: ["warning"], 0.05: ["warning"], 0.04: ["critical"], 0.0: ["critical"]}),
])
def test_at_most_one_level_fires_and_the_right_one(falling, expected):
    warning, critical = (0.15, 0.05) if falling else (0.9, 0.97)
    alerts = graded("X", "v", _level(warning), _level(critical), falling=falling)
    assert [a.name for a in alerts] == ["X", "X"]
    for value, levels in expected.items():
        assert _firing(alerts, value) == levels, value


def test_wrap_dresses_each_whole_expression():
    alerts = graded("X", "v", _level(0.9), _level(0.97), wrap=lambda e: f"max({e})")
    assert [a.expr for a in alerts] == ["max(v > 0.9 and v <= 0.97)", "max(v > 0.97)"]


@pytest.mark.parametrize("falling, warning, critical", [(False, 0.97, 0.9), (False, 0.9, 0.9), (True, 0.05, 0.15)])
def test_thresholds_in_the_wrong_order_are_refused(falling, warning, critical):
    with pytest.raises(ValueError, match="X: the warning threshold"):
        graded("X", "v", _level(warning), _level(critical), falling=falling)
