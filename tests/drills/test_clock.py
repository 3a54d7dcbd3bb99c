"""The drill clock compresses wall time for reporting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from drills.clock import DrillClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_one_wall_second_is_one_drill_minute_by_default() -> None:
    clock = DrillClock(started_at=START)
    assert clock.elapsed(START + timedelta(seconds=30)) == timedelta(minutes=30)
    assert clock.drill_time(START + timedelta(seconds=2)) == START + timedelta(minutes=2)


def test_bake_times_convert_both_ways_at_any_speed() -> None:
    clock = DrillClock(started_at=START, speed=10)
    assert clock.to_wall(timedelta(minutes=5)) == timedelta(seconds=30)
    assert clock.to_drill(clock.to_wall(timedelta(minutes=7))) == timedelta(minutes=7)


def test_naive_times_and_non_positive_speeds_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DrillClock(started_at=START).elapsed(datetime(2026, 3, 1, 12, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError):
        DrillClock(speed=0)
