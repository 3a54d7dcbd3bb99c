"""Rankings that learn: past outcomes of the same service and alarm move scores within a bound,
and drills never move the ranking of a real incident."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flows.diagnosis import Hypothesis, HypothesisKind
from flows.ranking import MAX_ADJUSTMENT, PastOutcome, adjust, past_outcomes
from tasks.catalog import RegionResources, Route53Weighted, ServiceEnvironment
from tests.flows.incident_reports import ALARM, REPORTS

ENTRY = ServiceEnvironment(
    primary_region="eu-west-1",
    regions={"eu-west-1": RegionResources(), "us-east-1": RegionResources()},
    route53=Route53Weighted(
        zone_id="Z", record_name="api", set_identifiers={"eu-west-1": "eu", "us-east-1": "us"}
    ),
)


def _rollback(score: float) -> Hypothesis:
    return Hypothesis(kind=HypothesisKind.ROLLBACK, score=score, summary="roll back", mechanism="ecs")


def _shift(score: float) -> Hypothesis:
    return Hypothesis(kind=HypothesisKind.SHIFT_TRAFFIC, score=score, summary="shift", region="eu-west-1")


def test_past_outcomes_of_the_same_service_alarm_and_record_kind() -> None:
    drills = past_outcomes(REPORTS, service="checkout", alarm=ALARM, drill=True)
    assert {k: [(o.incident_id, o.verified) for o in v] for k, v in drills.items()} == {
        "rollback.ecs": [("INC-A", True), ("INC-B", False)],
        "traffic.shift.route53": [("INC-B", True)],
    }
    # the only real incident's rollback was denied: never in effect, so it says nothing
    assert past_outcomes(REPORTS, service="checkout", alarm=ALARM, drill=False) == {}
    rerun = past_outcomes(REPORTS, service="checkout", alarm=ALARM, drill=True, exclude="INC-A")
    assert [o.incident_id for o in rerun["rollback.ecs"]] == ["INC-B"]  # an incident never ranks itself


def test_a_close_call_is_reordered_and_the_adjustment_is_explained() -> None:
    past = past_outcomes(REPORTS, service="checkout", alarm=ALARM, drill=True)
    ranked, made = adjust([_rollback(0.62), _shift(0.6)], ENTRY, past)
    assert [(h.kind, h.score) for h in ranked] == [
        (HypothesisKind.SHIFT_TRAFFIC, 0.65),  # 1 of 1 verified: +0.05
        (HypothesisKind.ROLLBACK, 0.62),  # 1 of 2 verified: +0
    ]
    messages = [a.message("checkout", ALARM) for a in made]
    assert messages == [
        f"+0: rollback.ecs fixed checkout {ALARM} 1 of 2 times",
        f"+0.05: traffic.shift.route53 fixed checkout {ALARM} 1 of 1 times",
    ]


def test_strong_evidence_still_dominates() -> None:
    failed = {"rollback.ecs": [PastOutcome(incident_id=f"INC-{i}", verified=False) for i in range(20)]}
    ranked, made = adjust([_rollback(0.9), _shift(0.6)], ENTRY, failed)
    assert [h.kind for h in ranked] == [HypothesisKind.ROLLBACK, HypothesisKind.SHIFT_TRAFFIC]
    assert ranked[0].score == 0.85 and made[0].delta == -MAX_ADJUSTMENT


@given(
    scores=st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=2),
    outcomes=st.lists(st.lists(st.booleans(), max_size=6), min_size=2, max_size=2),
)
def test_adjustments_stay_within_the_bound(scores: list[float], outcomes: list[list[bool]]) -> None:
    hypotheses = [_rollback(scores[0]), _shift(scores[1])]
    past = {
        kind: [PastOutcome(incident_id=f"INC-{i}", verified=v) for i, v in enumerate(results)]
        for kind, results in zip(["rollback.ecs", "traffic.shift.route53"], outcomes, strict=True)
    }
    ranked, _ = adjust(hypotheses, ENTRY, past)
    after = {h.kind: h.score for h in ranked}
    for h in hypotheses:
        assert abs(after[h.kind] - h.score) <= MAX_ADJUSTMENT + 1e-9
    if abs(scores[0] - scores[1]) > 2 * MAX_ADJUSTMENT + 1e-6:  # far apart: the order never changes
        expected = HypothesisKind.ROLLBACK if scores[0] > scores[1] else HypothesisKind.SHIFT_TRAFFIC
        assert ranked[0].kind is expected


def test_the_history_adjustment_is_one_of_the_listed_score_parts() -> None:
    past = past_outcomes(REPORTS, service="checkout", alarm=ALARM, drill=True)
    [shift, _] = adjust([_shift(0.6), _rollback(0.5)], ENTRY, past)[0]
    assert [(p.reason, p.value) for p in shift.score_parts] == [
        ("evidence", 0.6),
        ("history: traffic.shift.route53 fixed it 1 of 1 times", 0.05),
    ]
    assert shift.explain() == (
        "0.65 = +0.6 evidence; +0.05 history: traffic.shift.route53 fixed it 1 of 1 times"
    )
