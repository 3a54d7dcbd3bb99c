"""Alarm evaluation as CloudWatch does it (pure): M of N periods, TreatMissingData."""

from __future__ import annotations

import pytest

from drills.world.alarms import ALARM, INSUFFICIENT, OK, AlarmRule, evaluate

RULE = AlarmRule(name="a", threshold=5.0, operator="GreaterThanOrEqualToThreshold", evaluation_periods=3,
                 datapoints_to_alarm=2)  # fmt: skip


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 1.0, 9.0], OK),  # 1 of 3 breaching
        ([9.0, 1.0, 9.0], ALARM),  # 2 of 3
        ([9.0, 9.0, 1.0, 1.0], OK),  # only the last 3 count: 1 breaching
        ([9.0], OK),  # 1 datapoint, 1 breaching: not enough
        ([], INSUFFICIENT),
        ([None, None, None], INSUFFICIENT),
        ([9.0, None, 9.0], ALARM),
    ],
)
def test_m_of_n_with_missing_data_missing(values: list[float | None], expected: str) -> None:
    assert evaluate(RULE, values, OK) == expected


@pytest.mark.parametrize(
    ("treat", "current", "expected"),
    [
        ("missing", ALARM, INSUFFICIENT),
        ("notBreaching", ALARM, OK),
        ("breaching", OK, ALARM),
        ("ignore", ALARM, ALARM),
    ],
)
def test_treat_missing_data(treat: str, current: str, expected: str) -> None:
    rule = AlarmRule(
        name="a", threshold=5.0, operator="GreaterThanOrEqualToThreshold", treat_missing_data=treat
    )
    assert evaluate(rule, [None], current) == expected


def test_breaching_missing_points_count_towards_alarm() -> None:
    rule = AlarmRule(name="a", threshold=5.0, operator="GreaterThanOrEqualToThreshold", evaluation_periods=3,
                     datapoints_to_alarm=2, treat_missing_data="breaching")  # fmt: skip
    assert evaluate(rule, [1.0, None, 9.0], OK) == ALARM


def test_unknown_treat_missing_data_is_refused() -> None:
    with pytest.raises(ValueError, match="TreatMissingData"):
        evaluate(
            AlarmRule(name="a", threshold=1, operator="GreaterThanThreshold", treat_missing_data="x"),
            [1.0],
            OK,
        )
