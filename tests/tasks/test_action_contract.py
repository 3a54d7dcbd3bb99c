"""The plan/apply/verify/inverse contract, checked for every action kind against moto.

State is always read back from moto with plain boto3 calls (``Case.observe``), never taken
from what the code under test reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tasks.actions import apply_plan, inverse_plan, read_live, verify_plan
from tasks.aws import AwsTarget
from tasks.plan import ActionError, DriftError, Plan
from tasks.registry import REGISTRY
from tasks.steps import ActionFailedError
from tests.faults import (
    ACCESS_DENIED,
    CONNECT_TIMEOUT,
    THROTTLE,
    UNAVAILABLE,
    fail_after_applying,
    inject_faults,
    lose_answers,
)
from tests.tasks import cases, cases_containment
from tests.tasks.cases import Case

CASES = {**cases.CASES, **cases_containment.CASES}
TWO_STATE = cases.TWO_STATE | cases_containment.TWO_STATE


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, aws: AwsTarget) -> Iterator[Case]:
    with ExitStack() as stack:
        yield CASES[request.param](aws, stack)


def test_every_registered_kind_has_a_case_or_is_an_inverse() -> None:
    covered = set(CASES) | {REGISTRY[k].inverse_kind for k in CASES}
    assert covered == set(REGISTRY)


def test_plan_describes_live_state(case: Case) -> None:
    plan = case.plan
    assert plan.kind in CASES
    assert plan.before == case.observe() == read_live(plan)
    assert plan.after != plan.before
    assert plan.targets and 0 < plan.blast_radius <= 1
    assert Plan.model_validate(plan.model_dump(exclude={"hash"})).hash == plan.hash
    assert not verify_plan(plan)


def test_apply_sets_after_and_reads_it_back(case: Case) -> None:
    applied = apply_plan(case.plan)
    assert applied.changed and applied.request_ids and all(applied.request_ids)
    assert case.observe() == case.plan.after == applied.state_after
    assert verify_plan(case.plan)


def test_second_apply_changes_nothing(case: Case) -> None:
    apply_plan(case.plan)
    state, writes = case.observe(), case.history() if case.history else None
    again = apply_plan(case.plan)
    assert not again.changed and again.request_ids == []
    assert case.observe() == state
    assert (case.history() if case.history else None) == writes


@pytest.mark.parametrize("kind", sorted(set(CASES) - TWO_STATE))
def test_drift_is_refused_and_nothing_changes(kind: str, aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES[kind](aws, stack)
        assert case.drift is not None
        _refuses_drift(case)


def test_flags_have_no_third_state_to_drift_to(aws: AwsTarget) -> None:
    with ExitStack() as stack:
        assert all(CASES[kind](aws, stack).drift is None for kind in TWO_STATE)


def _refuses_drift(case: Case) -> None:
    assert case.drift is not None
    case.drift()
    drifted = case.observe()
    with pytest.raises(DriftError, match=r"expected .* live "):
        apply_plan(case.plan)
    assert case.observe() == drifted


def test_inverse_restores_before(case: Case) -> None:
    applied = apply_plan(case.plan)
    undo = inverse_plan(applied)
    assert (undo.kind, undo.targets) == (REGISTRY[case.plan.kind].inverse_kind, case.plan.targets)
    assert (undo.before, undo.after) == (case.plan.after, case.plan.before)
    assert apply_plan(undo).changed
    assert case.observe() == case.plan.before


def test_throttled_twice_then_applied_exactly_once(case: Case) -> None:
    writes = case.history() if case.history else 0
    with inject_faults(case.write_client(), case.write_op[1], [THROTTLE, THROTTLE]) as faults:
        applied = apply_plan(case.plan)
    assert faults.injected == 2 and faults.calls == 3  # the third call reached moto, once
    assert applied.changed and case.observe() == case.plan.after
    if case.history:
        assert case.history() == writes + 1


def test_a_server_error_before_applying_is_read_back_then_sent_again_once(case: Case) -> None:
    """A 5xx that AWS answered without applying: the read-back proves it, so it is re-sent."""
    writes = case.history() if case.history else 0
    if not case.lost_answer_applies:  # the next step needs the answer: fail, say so, change nothing
        with inject_faults(case.write_client(), case.write_op[1], [UNAVAILABLE]), pytest.raises(ActionError):
            apply_plan(case.plan)
        assert case.observe() == case.plan.before
        return
    with inject_faults(case.write_client(), case.write_op[1], [UNAVAILABLE]) as faults:
        applied = apply_plan(case.plan)
    assert faults.injected == 1
    assert applied.changed and case.observe() == case.plan.after
    if case.history:
        assert case.history() == writes + 1


def test_access_denied_changes_nothing_and_says_why(case: Case) -> None:
    writes = case.history() if case.history else 0
    with (
        inject_faults(case.write_client(), case.write_op[1], [ACCESS_DENIED]),
        pytest.raises(ActionFailedError) as err,
    ):
        apply_plan(case.plan)
    assert case.plan.kind in str(err.value) and "AccessDenied" in str(err.value)
    assert err.value.code == "AccessDenied"
    assert case.observe() == case.plan.before == err.value.live_state
    assert "live state read back" in str(err.value)
    if case.history:
        assert case.history() == writes


def test_connect_timeouts_are_retried_then_applied_exactly_once(case: Case) -> None:
    writes = case.history() if case.history else 0
    with inject_faults(case.write_client(), case.write_op[1], [CONNECT_TIMEOUT, CONNECT_TIMEOUT]) as faults:
        applied = apply_plan(case.plan)
    assert faults.injected == 2 and faults.calls == 3
    assert applied.changed and case.observe() == case.plan.after
    if case.history:
        assert case.history() == writes + 1


def test_a_lost_answer_is_read_back_not_sent_again(case: Case) -> None:
    """AWS applied the write but the answer timed out: the read-back proves it, no second write."""
    writes = case.history() if case.history else 0
    if not case.lost_answer_applies:
        with lose_answers(case.write_client(), case.write_op[1]), pytest.raises(ActionError) as err:
            apply_plan(case.plan)
        assert "nothing was deployed" in str(err.value)
        assert case.observe() == case.plan.before == err.value.live_state
        return
    with lose_answers(case.write_client(), case.write_op[1]) as lost:
        applied = apply_plan(case.plan)
    assert lost.injected == 1 and lost.calls == 1  # sent once, never re-sent
    assert applied.changed and applied.request_ids[0].startswith("unconfirmed:")
    assert case.observe() == case.plan.after == applied.state_after
    if case.history:
        assert case.history() == writes + 1


def test_a_server_error_after_applying_is_read_back_not_sent_again(case: Case) -> None:
    """AWS applied the write and answered 500: a blind retry would make a second change."""
    writes = case.history() if case.history else 0
    if not case.lost_answer_applies:
        with fail_after_applying(case.write_client(), case.write_op[1]), pytest.raises(ActionError):
            apply_plan(case.plan)
        return
    with fail_after_applying(case.write_client(), case.write_op[1]) as failed:
        applied = apply_plan(case.plan)
    assert failed.injected == 1 and failed.calls == 1  # sent once, never re-sent
    assert applied.changed and applied.request_ids[0].startswith("unconfirmed:")
    assert case.observe() == case.plan.after == applied.state_after
    if case.history:
        assert case.history() == writes + 1
