"""The write guard: read immediately before every AWS write an action makes.

It is how the kill switch stops a change between two regions (and stops, never undoes), and how
shadow mode keeps every writer, the undo path included, from writing. State is read back from moto.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget
from tasks.plan import Applied
from tasks.steps import WriteRefusedError, write_guard
from tests.tasks.cases import CASES


class FlipAfter:
    """Allows the first ``allowed`` writes, then refuses: the kill switch flipped meanwhile."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.reads = 0

    def __call__(self) -> str | None:
        self.reads += 1
        return None if self.reads <= self.allowed else "the kill switch is on"


def test_kill_switch_between_regions_stops_and_does_not_undo(aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES["rollback.ecs"](aws, stack)
        regions = sorted(case.plan.after)
        guard = FlipAfter(allowed=1)
        with write_guard(guard), pytest.raises(WriteRefusedError) as err:
            apply_plan(case.plan)
        live = case.observe()
    assert live[regions[0]] == case.plan.after[regions[0]]  # the first region stays changed
    assert live[regions[1]] == case.plan.before[regions[1]]  # the second was never written
    assert err.value.done == [f"rollback.ecs in {regions[0]}"]
    assert err.value.not_done == [f"rollback.ecs in {regions[1]}"]
    assert err.value.live_state == live and guard.reads == 2


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_refusing_guard_lets_no_write_through(kind: str, aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES[kind](aws, stack)
        with write_guard(lambda: "shadow mode"), pytest.raises(WriteRefusedError, match="shadow mode"):
            apply_plan(case.plan)
        assert case.observe() == case.plan.before


def test_the_undo_path_obeys_the_guard_too(aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES["flags.disable.ssm"](aws, stack)
        applied: Applied = apply_plan(case.plan)
        assert case.observe() == case.plan.after
        with write_guard(lambda: "shadow mode"), pytest.raises(WriteRefusedError):
            apply_plan(inverse_plan(applied))
        assert case.observe() == case.plan.after  # not undone behind the guard's back
