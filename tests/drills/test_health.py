"""The pure health model: every rule, and that only a right mitigation makes metrics recover."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills import seed_names as n
from drills.health import (
    BASELINE_ERROR_RATE,
    BASELINE_LATENCY_MS,
    TOTAL_REQUESTS_PER_MIN,
    RegionHealth,
    RegionState,
    SandboxState,
    SimulatorFaults,
    compute_health,
    traffic_shares,
)

EU, US = n.REGIONS
LATENCY_ALARM_THRESHOLD_MS = 800.0  # the seeded latency alarm's threshold (drills/seed_region.py)
HEALTHY = SimulatorFaults()


def region(**changes: Any) -> RegionState:
    base: dict[str, Any] = {
        "ecs_revision": 1,
        "ecs_image": n.GOOD_IMAGE,
        "ecs_bad": False,
        "lambda_version": "1",
        "lambda_bad_share": 0.0,
        "alb_weights": {n.BLUE_TARGET_GROUP: 100, n.GREEN_TARGET_GROUP: 0},
        "alb_dead_share": 0.0,
        "route53_weight": 50,
    }
    return RegionState(**(base | changes))


def state(
    eu: RegionState | None = None, us: RegionState | None = None, *, new_pricing: bool = False
) -> SandboxState:
    return SandboxState(
        regions={EU: eu or region(), US: us or region()},
        flags={n.FLAG_NEW_PRICING: new_pricing, n.FLAG_ONE_CLICK: True},
        observed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def errors(health: RegionHealth) -> float:
    assert health.error_rate is not None, "no error rate: the region served no requests"
    return health.error_rate


def latency(health: RegionHealth) -> float:
    assert health.latency_p99_ms is not None, "no latency: the region served no requests"
    return health.latency_p99_ms


def test_baseline_is_healthy_within_jitter_and_splits_traffic_by_weight() -> None:
    health = compute_health(state(), HEALTHY, tick=7)
    for h in health.regions.values():
        assert errors(h) == pytest.approx(BASELINE_ERROR_RATE, rel=0.051)
        assert latency(h) == pytest.approx(BASELINE_LATENCY_MS, rel=0.051)
        assert h.requests_per_min == pytest.approx(TOTAL_REQUESTS_PER_MIN / 2, rel=0.051)
        assert h.causes == ()


def test_jitter_is_deterministic_per_tick_and_varies_between_ticks() -> None:
    assert compute_health(state(), HEALTHY, tick=3) == compute_health(state(), HEALTHY, tick=3)
    rates = {compute_health(state(), HEALTHY, tick=t).regions[EU].error_rate for t in range(10)}
    assert len(rates) > 1


def test_bad_revision_breaks_only_its_region_and_rollback_recovers() -> None:
    broken = compute_health(state(eu=region(ecs_revision=2, ecs_bad=True)), HEALTHY)
    assert 24.0 < errors(broken.regions[EU]) < 26.5 and broken.regions[EU].causes == ("bad_deploy",)
    assert errors(broken.regions[US]) < 1.0
    rolled_back = compute_health(state(eu=region(ecs_revision=1)), HEALTHY)
    assert errors(rolled_back.regions[EU]) < 1.0


def test_bad_flag_breaks_every_region_and_only_turning_it_off_recovers() -> None:
    broken = compute_health(state(new_pricing=True), HEALTHY)
    assert all(17.0 < errors(h) < 19.5 and latency(h) > 800 for h in broken.regions.values())
    wrong_fix = compute_health(state(new_pricing=True, eu=region(ecs_revision=0)), HEALTHY)  # a rollback
    assert wrong_fix.user_error_rate > 17.0
    assert compute_health(state(new_pricing=False), HEALTHY).user_error_rate < 1.0


def test_degraded_region_recovers_for_users_only_when_all_traffic_is_shifted_away() -> None:
    degraded = SimulatorFaults(region_degraded=frozenset({EU}))
    broken = compute_health(state(), degraded)
    assert 39.0 < errors(broken.regions[EU]) < 41.5 and errors(broken.regions[US]) < 1.0
    assert broken.user_error_rate > 19.0
    partial = compute_health(state(eu=region(route53_weight=10), us=region(route53_weight=90)), degraded)
    assert errors(partial.regions[EU]) > 39.0 and 3.0 < partial.user_error_rate < 5.0
    shifted = compute_health(state(eu=region(route53_weight=0), us=region(route53_weight=100)), degraded)
    assert shifted.regions[EU].requests_per_min == 0.0
    assert shifted.regions[US].requests_per_min == pytest.approx(TOTAL_REQUESTS_PER_MIN, rel=0.051)
    assert shifted.user_error_rate < 1.0
    assert latency(shifted.regions[US]) < 800  # double load is slower, still healthy


def test_dependency_down_never_recovers_whatever_is_changed() -> None:
    down = SimulatorFaults(dependency_down=True)
    mitigations = [
        state(),
        state(eu=region(route53_weight=0), us=region(route53_weight=100)),
        state(eu=region(route53_weight=100), us=region(route53_weight=0)),
        state(eu=region(route53_weight=0), us=region(route53_weight=0)),
    ]
    for mitigated in mitigations:
        assert compute_health(mitigated, down).user_error_rate > 29.5


def test_alb_traffic_to_a_target_group_without_healthy_targets_fails() -> None:
    health = compute_health(state(eu=region(alb_dead_share=0.5)), HEALTHY)
    assert 49.0 < errors(health.regions[EU]) < 51.0


def test_bad_lambda_canary_only_fails_its_share() -> None:
    health = compute_health(state(us=region(lambda_bad_share=0.5)), HEALTHY)
    assert 6.0 < errors(health.regions[US]) < 7.0 and errors(health.regions[EU]) < 1.0


def test_causes_combine_as_independent_failures() -> None:
    health = compute_health(state(eu=region(ecs_bad=True), new_pricing=True), HEALTHY)
    # 1 - 0.995 * 0.75 * 0.82 = 38.8 %
    assert errors(health.regions[EU]) == pytest.approx(38.8, abs=0.1)


def test_route53_all_zero_weights_share_traffic_equally() -> None:
    assert traffic_shares({EU: 0, US: 0}) == {EU: 0.5, US: 0.5}
    assert traffic_shares({EU: 30, US: 10}) == {EU: 0.75, US: 0.25}


@given(
    eu_weight=st.integers(0, 255),
    us_weight=st.integers(0, 255),
    eu_bad=st.booleans(),
    flag=st.booleans(),
    degraded=st.sets(st.sampled_from(n.REGIONS)),
    tick=st.integers(0, 10_000),
)
def test_dependency_down_keeps_users_failing_and_rates_stay_percentages(
    eu_weight: int, us_weight: int, eu_bad: bool, flag: bool, degraded: set[str], tick: int
) -> None:
    sandbox = state(
        eu=region(route53_weight=eu_weight, ecs_bad=eu_bad),
        us=region(route53_weight=us_weight),
        new_pricing=flag,
    )
    faults = SimulatorFaults(region_degraded=frozenset(degraded), dependency_down=True)
    health = compute_health(sandbox, faults, tick=tick)
    assert health.user_error_rate > 29.5
    assert all(h.error_rate is None or 0.0 <= h.error_rate <= 100.0 for h in health.regions.values())
    assert sum(h.requests_per_min for h in health.regions.values()) == pytest.approx(
        TOTAL_REQUESTS_PER_MIN, rel=0.051
    )


def test_a_region_without_requests_has_no_error_rate_or_latency() -> None:
    """Real CloudWatch has no datapoint for a rate over zero requests: not 0 %, nothing."""
    degraded = SimulatorFaults(region_degraded=frozenset({EU}))
    drained = compute_health(state(eu=region(route53_weight=0), us=region(route53_weight=100)), degraded)
    eu = drained.regions[EU]
    assert (eu.requests_per_min, eu.error_rate, eu.latency_p99_ms) == (0.0, None, None)
    assert drained.regions[US].error_rate is not None and drained.user_error_rate < 1.0


@pytest.mark.parametrize(
    ("faults", "eu"),
    [
        (HEALTHY, region(ecs_bad=True)),
        (HEALTHY, region(lambda_bad_share=1.0)),
        (SimulatorFaults(region_degraded=frozenset({EU})), region()),
        (SimulatorFaults(dependency_down=True), region()),
    ],
    ids=["bad_deploy", "bad_lambda", "region_degraded", "dependency_down"],
)
def test_every_fault_kind_raises_latency_over_its_alarm_threshold_too(
    faults: SimulatorFaults, eu: RegionState
) -> None:
    latency = compute_health(state(eu=eu), faults).regions[EU].latency_p99_ms
    assert latency is not None and latency > LATENCY_ALARM_THRESHOLD_MS
