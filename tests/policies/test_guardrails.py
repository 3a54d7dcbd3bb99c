"""Each guardrail on its own: what it denies, what it lets through, and the detail it gives."""

from __future__ import annotations

from datetime import UTC, datetime

from policies import GuardrailResult, Severity, default_policy
from policies.guardrails import check_guardrails
from tests.policies.helpers import context, policy, request

FREEZE = {
    "name": "year-end", "start": "2026-12-24T00:00:00+01:00", "end": "2027-01-02T00:00:00+01:00",
    "environments": ["prod"], "exempt_severities": ["SEV-1"],
}
IN_FREEZE = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


def results(name: str, guardrails: list[GuardrailResult]) -> list[GuardrailResult]:
    return [g for g in guardrails if g.name == name or g.name.startswith(name + ":")]


def only(name: str, guardrails: list[GuardrailResult]) -> GuardrailResult:
    [result] = results(name, guardrails)
    return result


def test_all_guardrails_pass_for_a_sound_request() -> None:
    guardrails = check_guardrails(request(), context(), default_policy())
    assert all(g.passed for g in guardrails), guardrails
    names = [g.name.split(":")[0] for g in guardrails]
    assert names == [
        "lockdown", "kill_switch", "rate_limit", "freeze_window",
        "blast_radius_cap", "target_set", "verified_plan",
    ]


def test_kill_switch_stops_mutating_but_not_read_only() -> None:
    on = context(kill_switch=True)
    flag = only("kill_switch", check_guardrails(request("flags.disable.ssm"), on, default_policy()))
    assert not flag.passed
    snapshot = only("kill_switch", check_guardrails(request("snapshot.collect"), on, default_policy()))
    assert snapshot.passed
    assert "read-only" in snapshot.detail


def test_rate_limit_counts_come_from_the_context() -> None:
    p = default_policy()
    key = "rollback-per-service:checkout"
    assert [limit.key_for(request()) for limit in p.rate_limits] == [key, None, None]
    under = only("rate_limit", check_guardrails(request(), context(action_counts={key: 2}), p))
    assert under.passed
    at = only("rate_limit", check_guardrails(request(), context(action_counts={key: 3}), p))
    assert not at.passed
    assert "3 taken, at most 3 per 60 min" in at.detail
    other_service = context(action_counts={"rollback-per-service:search": 9})
    assert only("rate_limit", check_guardrails(request(), other_service, p)).passed


def test_rate_limit_scopes() -> None:
    p = policy(guardrails={"rate_limits": [
        {"name": "env", "per": "environment", "max_count": 1},
        {"name": "both", "per": "service_environment", "max_count": 1},
        {"name": "all", "per": "global", "max_count": 1, "actions": ["flags.*"]},
    ]})
    keys = [limit.key_for(request()) for limit in p.rate_limits]
    assert keys == ["env:prod", "both:checkout:prod", None]
    assert p.rate_limits[2].key_for(request("flags.disable.ssm")) == "all"


def test_freeze_window_denies_in_prod_during_the_window_only() -> None:
    p = policy(guardrails={"freeze_windows": [FREEZE]})
    during = only("freeze_window", check_guardrails(request(), context(now=IN_FREEZE), p))
    assert not during.passed
    assert during.name == "freeze_window:year-end"
    before = datetime(2026, 12, 23, 22, 59, tzinfo=UTC)  # 23:59 in Paris
    assert only("freeze_window", check_guardrails(request(), context(now=before), p)).passed
    staging = request(environment="staging")
    assert only("freeze_window", check_guardrails(staging, context(now=IN_FREEZE), p)).passed


def test_freeze_window_exemptions() -> None:
    p = policy(read_only=["snapshot.*"], guardrails={"freeze_windows": [FREEZE]})
    sev1 = context(now=IN_FREEZE, severity=Severity.SEV_1)
    assert only("freeze_window", check_guardrails(request(), sev1, p)).passed
    snapshot = check_guardrails(request("snapshot.collect"), context(now=IN_FREEZE), p)
    assert only("freeze_window", snapshot).passed


def test_blast_radius_cap_applies_to_the_kinds_it_selects() -> None:
    p = default_policy()
    shift = "traffic.shift.alb"
    assert only("blast_radius_cap", check_guardrails(request(shift, blast_radius=0.75), context(), p)).passed
    over = only("blast_radius_cap", check_guardrails(request(shift, blast_radius=0.76), context(), p))
    assert not over.passed
    assert over.name == "blast_radius_cap:traffic-shift"
    assert "above the cap 0.75" in over.detail
    whole = request("flags.disable.ssm", blast_radius=1.0)
    flag = only("blast_radius_cap", check_guardrails(whole, context(), p))
    assert flag.passed
    assert "no blast-radius cap" in flag.detail


def test_first_blast_radius_cap_that_selects_wins() -> None:
    p = policy(guardrails={"blast_radius_caps": [
        {"name": "prod-rollbacks", "actions": ["rollback.*"], "environments": ["prod"],
         "max_blast_radius": 0.5},
        {"name": "everything", "max_blast_radius": 0.9},
    ]})
    prod = only("blast_radius_cap", check_guardrails(request(blast_radius=0.6), context(), p))
    assert (prod.name, prod.passed) == ("blast_radius_cap:prod-rollbacks", False)
    staging = request(blast_radius=0.6, environment="staging")
    fallback = only("blast_radius_cap", check_guardrails(staging, context(), p))
    assert fallback.name == "blast_radius_cap:everything"


def test_target_set_must_be_explicit() -> None:
    p = default_policy()
    for targets in ([], ["*"], ["svc-*"], ["  "], ["ok", "i-?"]):
        result = only("target_set", check_guardrails(request(targets=targets), context(), p))
        assert not result.passed, targets
    assert only("target_set", check_guardrails(request("diagnostics.logs", targets=[]), context(), p)).passed


def test_production_needs_a_verified_plan() -> None:
    p = default_policy()
    unverified = request(verified=False)
    assert not only("verified_plan", check_guardrails(unverified, context(), p)).passed
    staging = request(verified=False, environment="staging")
    assert only("verified_plan", check_guardrails(staging, context(), p)).passed
    custom = policy(production_environments=["prod", "live-*"])
    live = request(verified=False, environment="live-eu")
    assert not only("verified_plan", check_guardrails(live, context(), custom)).passed
    relaxed = policy(guardrails={"require_verified_plan": False})
    assert only("verified_plan", check_guardrails(unverified, context(), relaxed)).passed
