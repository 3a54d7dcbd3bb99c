"""Pure weight rules shared by every traffic shift."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.weights import (
    ShiftError,
    blast_radius,
    check_weights,
    describe,
    moved_points,
    shift_away,
    step_toward,
)


def test_shift_away_moves_everything_proportionally() -> None:
    assert shift_away({"a": 100, "b": 30, "c": 10}, "a") == {"a": 0, "b": 105, "c": 35}


def test_shift_away_respects_the_step() -> None:
    assert shift_away({"a": 100, "b": 50, "c": 50}, "a", step=40) == {"a": 60, "b": 70, "c": 70}


def test_shift_away_onto_drained_regions_splits_evenly() -> None:
    assert shift_away({"a": 100, "b": 0, "c": 0}, "a", step=51) == {"a": 49, "b": 26, "c": 25}


def test_shift_away_from_the_only_key_is_refused() -> None:
    with pytest.raises(ShiftError, match="only destination"):
        shift_away({"a": 100}, "a")


def test_step_toward_moves_at_most_step_points_per_side() -> None:
    assert step_toward({"a": 0, "b": 100}, {"a": 100, "b": 0}, step=25) == {"a": 25, "b": 75}
    assert step_toward({"a": 0, "b": 100}, {"a": 100, "b": 0}, step=500) == {"a": 100, "b": 0}
    assert step_toward({"a": 0, "b": 100}, {"a": 100}) == {"a": 100, "b": 100}


@pytest.mark.parametrize("step", [0, -5])
def test_step_must_be_positive(step: int) -> None:
    with pytest.raises(ShiftError, match="at least 1"):
        step_toward({"a": 1}, {"a": 2}, step=step)


def test_blast_radius_is_the_share_of_traffic_that_moves() -> None:
    assert blast_radius({"a": 100, "b": 0}, {"a": 50, "b": 50}) == 0.5
    assert blast_radius({"a": 100, "b": 100}, {"a": 0, "b": 200}) == 0.5
    assert blast_radius({"a": 1, "b": 1}, {"a": 5, "b": 5}) == 0.0  # same split, bigger numbers


def test_never_all_zero_and_within_range() -> None:
    with pytest.raises(ShiftError, match="every weight to zero"):
        check_weights({"a": 0, "b": 0}, max_weight=255, what="x")
    with pytest.raises(ShiftError, match=r"0\.\.255"):
        check_weights({"a": 256, "b": 0}, max_weight=255, what="x")
    check_weights({"a": 0, "b": 1}, max_weight=255, what="x")


def test_describe_lists_only_changes() -> None:
    assert describe({"a": 100, "b": 0, "c": 5}, {"a": 60, "b": 40, "c": 5}) == "a 100→60, b 0→40"


weights = st.dictionaries(st.sampled_from("abcd"), st.integers(0, 255), min_size=2)


@given(weights, weights, st.integers(1, 300))
def test_step_toward_never_overshoots_and_always_progresses(
    current: dict[str, int], target: dict[str, int], step: int
) -> None:
    after = step_toward(current, target, step)
    full = {**current, **target}
    assert moved_points(current, after) <= step
    assert moved_points(after, full) <= moved_points(current, full)
    assert after == full or moved_points(current, after) == min(step, moved_points(current, full))


@given(weights, st.integers(1, 300))
def test_shift_away_preserves_the_total(current: dict[str, int], step: int) -> None:
    away = sorted(current)[0]
    after = shift_away(current, away, step)
    assert sum(after.values()) == sum(current.values())
    assert after[away] == max(0, current[away] - step)
