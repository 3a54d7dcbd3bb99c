"""Rule matching: globs, services, environments, severities, blast radius and time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies import ActionRule, Severity, Tier, TimeWindow, Weekday
from policies.rules import first_match
from tests.policies.helpers import context, request


def rule(**fields: object) -> ActionRule:
    base: dict[str, object] = {"name": "r", "actions": ["*"], "tier": "approval", "reason": "because"}
    return ActionRule.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("patterns", "kind", "matches"),
    [
        (["rollback.*"], "rollback.ecs", True),
        (["rollback.*"], "rollbacks.ecs", False),
        (["flags.*"], "flags.disable.ssm", True),
        (["traffic.shift.?lb"], "traffic.shift.alb", True),
        (["traffic.shift.?lb"], "traffic.shift.route53", False),
        (["Rollback.*"], "rollback.ecs", False),
        (["a", "rollback.lambda"], "rollback.lambda", True),
    ],
)
def test_action_globs(patterns: list[str], kind: str, matches: bool) -> None:
    assert rule(actions=patterns).matches(request(kind), context()) is matches


def test_service_and_environment_globs() -> None:
    r = rule(services=["check*"], environments=["prod", "prod-*"])
    assert r.matches(request(), context())
    assert r.matches(request(environment="prod-eu"), context())
    assert not r.matches(request(environment="staging"), context())
    assert not r.matches(request(service="search"), context())


def test_severity_condition() -> None:
    r = rule(severities=["SEV-1", "SEV-2"])
    assert r.matches(request(), context(severity=Severity.SEV_1))
    assert not r.matches(request(), context(severity=Severity.SEV_3))


def test_blast_radius_bounds_are_inclusive() -> None:
    r = rule(min_blast_radius=0.1, max_blast_radius=0.25)
    assert r.matches(request(blast_radius=0.25), context())
    assert r.matches(request(blast_radius=0.1), context())
    assert not r.matches(request(blast_radius=0.26), context())
    assert not r.matches(request(blast_radius=0.05), context())


def test_business_hours_in_a_timezone() -> None:
    window = TimeWindow(
        timezone="Europe/Paris", weekdays=[Weekday.MON, Weekday.FRI], start_hour=9, end_hour=18
    )
    # Friday 2026-11-20: 08:30 UTC is 09:30 in Paris (CET, UTC+1).
    assert window.contains(datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
    assert not window.contains(datetime(2026, 11, 20, 7, 30, tzinfo=UTC))
    assert not window.contains(datetime(2026, 11, 20, 17, 0, tzinfo=UTC))  # 18:00 Paris
    # Saturday is not one of the listed weekdays.
    assert not window.contains(datetime(2026, 11, 21, 10, 0, tzinfo=UTC))


def test_window_wrapping_midnight() -> None:
    night = TimeWindow(start_hour=22, end_hour=6)
    assert night.contains(datetime(2026, 11, 18, 23, 0, tzinfo=UTC))
    assert night.contains(datetime(2026, 11, 18, 5, 59, tzinfo=UTC))
    assert not night.contains(datetime(2026, 11, 18, 6, 0, tzinfo=UTC))
    assert not night.contains(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))


def test_the_hours_after_midnight_belong_to_the_day_the_window_started() -> None:
    friday_night = TimeWindow(timezone="Europe/Paris", weekdays=[Weekday.FRI], start_hour=22, end_hour=2)
    # Friday 2026-11-20 and Saturday 2026-11-21, Paris is UTC+1.
    assert friday_night.contains(datetime(2026, 11, 20, 22, 0, tzinfo=UTC))  # Fri 23:00
    assert friday_night.contains(datetime(2026, 11, 21, 0, 30, tzinfo=UTC))  # Sat 01:30: Friday's night
    assert not friday_night.contains(datetime(2026, 11, 21, 1, 0, tzinfo=UTC))  # Sat 02:00: ended
    assert not friday_night.contains(datetime(2026, 11, 20, 0, 30, tzinfo=UTC))  # Fri 01:30: Thursday's
    assert not friday_night.contains(datetime(2026, 11, 21, 22, 0, tzinfo=UTC))  # Sat 23:00


def test_rule_with_time_window() -> None:
    r = rule(during={"timezone": "UTC", "start_hour": 9, "end_hour": 17})
    assert r.matches(request(), context(now=datetime(2026, 11, 18, 9, 0, tzinfo=UTC)))
    assert not r.matches(request(), context(now=datetime(2026, 11, 18, 17, 0, tzinfo=UTC)))


def test_first_match_wins_in_file_order() -> None:
    rules = [
        rule(name="narrow", actions=["rollback.ecs"], tier="human_only"),
        rule(name="broad", actions=["rollback.*"], tier="automated"),
    ]
    assert first_match(rules, request("rollback.ecs"), context()) == rules[0]
    assert first_match(rules, request("rollback.lambda"), context()) == rules[1]
    assert first_match(list(reversed(rules)), request("rollback.ecs"), context()) == rules[1]
    assert first_match(rules, request("flags.disable.ssm"), context()) is None
    assert rules[0].tier is Tier.HUMAN_ONLY


@pytest.mark.parametrize(("factor", "matches"), [(1.5, True), (2.0, True), (2.01, False), (None, False)])
def test_max_capacity_factor_is_inclusive_and_needs_a_factor(factor: float | None, matches: bool) -> None:
    r = rule(actions=["capacity.scale.*"], max_capacity_factor=2)
    assert r.matches(request("capacity.scale.ecs", capacity_factor=factor), context()) is matches


def test_a_rule_without_a_capacity_condition_ignores_the_factor() -> None:
    assert rule().matches(request("capacity.scale.ecs", capacity_factor=10.0), context())


@pytest.mark.parametrize(("factor", "matches"), [(0.5, False), (1.0, True), (1.5, True)])
def test_min_capacity_factor_is_inclusive(factor: float, matches: bool) -> None:
    r = rule(actions=["capacity.scale.*"], min_capacity_factor=1, max_capacity_factor=2)
    assert r.matches(request("capacity.scale.asg", capacity_factor=factor), context()) is matches


def test_capacity_factor_bounds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match=r"min_capacity_factor 3\.0 is above max_capacity_factor 2\.0"):
        rule(min_capacity_factor=3, max_capacity_factor=2)
