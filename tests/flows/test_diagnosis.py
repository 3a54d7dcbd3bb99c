"""Diagnosis (pure): a rollback hypothesis carries what ran before, and from which record."""

from __future__ import annotations

from datetime import timedelta

from flows.diagnosis import HypothesisKind, diagnose
from tasks.catalog import FlagStore
from tasks.evidence import ChangeEvent, PreviousRelease, ReleaseSource
from tests.flows.bundles import ARN, BAD, ENTRY, GOOD, ONSET, applied, bundle, deploy, region

FROM_TRAIL = PreviousRelease(
    value=f"{ARN}:2",
    source=ReleaseSource.CLOUDTRAIL,
    detail="CloudTrail: UpdateService by deployer set checkout:2",
)
UNKNOWN = (
    "no record says what ran before checkout:4 on checkout-prod/checkout (CloudTrail has 0 release event(s))"
)


def test_the_rollback_target_is_the_release_the_history_says_ran_before() -> None:
    change = deploy(before=f"{ARN}:2", before_source=FROM_TRAIL)
    [rollback] = [h for h in diagnose(bundle(change), ENTRY) if h.kind is HypothesisKind.ROLLBACK]
    assert rollback.rollback_to == {BAD: FROM_TRAIL} and rollback.mechanism == "ecs"
    assert f"({ARN}:2 -> {ARN}:4)" in rollback.summary
    assert any("CloudTrail: UpdateService by deployer" in line for line in rollback.evidence)


def test_without_history_firebreak_records_say_what_ran_before() -> None:
    change = deploy(history=UNKNOWN)
    # An earlier incident rolled back to 2 an hour ago: Firebreak saw 2 live, then someone deployed 4.
    own = [applied(2, minutes_before_onset=60, request_id="req-old", before=3)]
    [rollback] = [h for h in diagnose(bundle(change), ENTRY, own) if h.kind is HypothesisKind.ROLLBACK]
    target = rollback.rollback_to[BAD]
    assert (target.value, target.source) == (f"{ARN}:2", ReleaseSource.SNAPSHOTS)
    assert "INC-20261124-0240-abcdef" in target.detail


def test_without_any_record_the_rollback_hypothesis_has_no_target_and_says_what_is_known() -> None:
    [rollback] = [
        h for h in diagnose(bundle(deploy(history=UNKNOWN)), ENTRY) if h.kind is HypothesisKind.ROLLBACK
    ]
    assert rollback.rollback_to == {}
    assert f"{UNKNOWN}; no earlier Firebreak record either" in rollback.evidence


def test_a_creation_is_not_a_rollback_hypothesis() -> None:
    hypotheses = diagnose(bundle(deploy()), ENTRY)  # no before, no history: nothing ran before it
    assert [h.kind for h in hypotheses] == [HypothesisKind.ESCALATE]


def test_a_record_newer_than_the_change_is_not_what_ran_before_it() -> None:
    own = [applied(2, minutes_before_onset=1, request_id="req-later", before=3)]  # after the deploy
    change = deploy(history=UNKNOWN, at=ONSET - timedelta(minutes=4))
    [rollback] = [h for h in diagnose(bundle(change), ENTRY, own) if h.kind is HypothesisKind.ROLLBACK]
    assert rollback.rollback_to == {}


def test_with_the_same_cause_in_two_regions_the_alerted_region_ranks_first() -> None:
    """A deploy to both regions: each region's alert fixes its own region first, so two
    concurrent incidents never both reach for the other's region (and one finds it healthy)."""
    evidence = bundle(
        deploy(before=f"{ARN}:2", before_source=FROM_TRAIL),
        deploy(before=f"{ARN}:2", before_source=FROM_TRAIL, region=GOOD, at=ONSET - timedelta(minutes=3)),
    )
    evidence = evidence.model_copy(update={"regions": {BAD: region(BAD, 25.0), GOOD: region(GOOD, 25.0)}})
    for alerted in (BAD, GOOD):
        top = diagnose(evidence, ENTRY, alerted_region=alerted)[0]
        assert (top.kind, top.region) == (HypothesisKind.ROLLBACK, alerted)
        assert any(p.reason == f"the alert names {alerted}" for p in top.score_parts)


def test_a_change_that_explains_every_unhealthy_region_outranks_a_regional_one() -> None:
    """Issue 24: a deploy in the alerted region a minute before onset outranked a flag switched
    on everywhere 25 minutes before, although both regions fail and the deploy touched one."""
    flag_entry = ENTRY.model_copy(
        update={"flags": FlagStore(region=BAD, flags={"new-pricing": "/checkout/new-pricing"})}
    )
    flag_on = ChangeEvent(
        kind="flag", region=BAD, resource="/checkout/new-pricing", at=ONSET - timedelta(minutes=25),
        summary="new-pricing off -> on", before="off", after="on",
    )  # fmt: skip
    regional = deploy(before=f"{ARN}:2", before_source=FROM_TRAIL, at=ONSET - timedelta(minutes=1))
    evidence = bundle(regional, flag_on).model_copy(
        update={"regions": {BAD: region(BAD, 25.0), GOOD: region(GOOD, 25.0)}}
    )
    ranked = diagnose(evidence, flag_entry, alerted_region=BAD)
    assert [h.kind for h in ranked[:2]] == [HypothesisKind.DISABLE_FLAG, HypothesisKind.ROLLBACK]
    [part] = [p for p in ranked[1].score_parts if "1 of 2 unhealthy regions" in p.reason]
    assert part.value < 0
    alone = diagnose(bundle(regional), ENTRY, alerted_region=BAD)  # one region unhealthy: no change
    assert alone[0].kind is HypothesisKind.ROLLBACK
    assert not any("unhealthy regions" in p.reason for p in alone[0].score_parts)
