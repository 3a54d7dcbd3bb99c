"""Outcome statistics over five hand-made reports; every expected number is worked out by hand
from tests/flows/incident_reports.py (onsets, offsets in seconds, statuses)."""

from __future__ import annotations

from flows.stats import GroupBy, hypothesis_stats, p90, stats_by
from tests.flows.incident_reports import REPORTS


def test_by_service() -> None:
    checkout, payments = stats_by(REPORTS, GroupBy.SERVICE)
    # checkout: A, B, C, E. Confirmed A (30 s), B (20 s), E (60 s); C was not confirmed.
    assert (checkout.key, checkout.incidents, checkout.confirmed, checkout.precision) == (
        "checkout",
        4,
        3,
        0.75,
    )
    assert checkout.mttd_s == 30  # median of 20, 30, 60
    assert checkout.ttfm_s == 75  # median of 90 (A), 60 (B)
    assert (checkout.mttr_median_s, checkout.mttr_p90_s) == (225, 300)  # 150 and 300
    assert checkout.approval_wait_s == 40  # median of 40, 10, 50
    # A rollback (verified), B rollback (not) + traffic (verified), E rollback denied
    assert (checkout.mitigations, checkout.in_effect, checkout.verified, checkout.success_rate) == (
        4,
        3,
        2,
        0.667,
    )
    assert (payments.incidents, payments.mttd_s, payments.mttr_median_s, payments.approval_wait_s) == (
        1,
        10,
        100,
        None,
    )
    assert payments.success_rate == 1.0


def test_by_mitigation_kind() -> None:
    rows = {row.key: row for row in stats_by(REPORTS, GroupBy.KIND)}
    assert sorted(rows) == ["flags.disable.ssm", "rollback.ecs", "traffic.shift.route53"]
    ecs = rows["rollback.ecs"]  # tried in A, B, E; in effect in A and B; verified in A
    assert (ecs.incidents, ecs.mitigations, ecs.in_effect, ecs.verified, ecs.success_rate) == (
        3,
        3,
        2,
        1,
        0.5,
    )
    assert ecs.mttr_median_s == 225  # A 150, B 300 (E never recovered)
    shift = rows["traffic.shift.route53"]
    assert (shift.incidents, shift.success_rate, shift.mttr_median_s) == (1, 1.0, 300)


def test_alarm_precision() -> None:
    rows = {row.key: row for row in stats_by(REPORTS, GroupBy.ALARM)}
    assert rows["checkout-errors-eu-west-1"].precision == 0.75  # 3 of A, B, C, E confirmed
    assert rows["payments-latency"].precision == 1.0


def test_how_often_each_hypothesis_was_right() -> None:
    rows = {h.kind: h for h in hypothesis_stats(REPORTS)}
    # rollback: proposed in A, B, E (first each time); right only in A (B's rollback failed)
    assert (rows["rollback"].proposed, rows["rollback"].ranked_first, rows["rollback"].right) == (3, 3, 1)
    assert rows["rollback"].right_rate == 0.333
    # shift_traffic: proposed in A and B, never first; right in B (the second mitigation verified)
    assert (
        rows["shift_traffic"].proposed,
        rows["shift_traffic"].ranked_first,
        rows["shift_traffic"].right,
    ) == (
        2,
        0,
        1,
    )
    assert rows["disable_flag"].right_rate == 1.0


def test_p90_is_nearest_rank() -> None:
    assert p90([float(v) for v in range(1, 11)]) == 9  # ceil(0.9 * 10) = 9th smallest
    assert p90([5.0]) == 5
    assert p90([]) is None
