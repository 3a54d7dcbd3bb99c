"""The shipped policy gives every action kind used across Firebreak the tier the design asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

import policies
from policies import Tier, decide, default_policy, load_policy
from policies.approvals import Identity
from policies.production import declared_in_production
from tests.policies.helpers import context, request


@pytest.mark.parametrize(
    ("kind", "blast_radius", "environment", "tier"),
    [
        ("snapshot.collect", 0.0, "prod", Tier.AUTOMATED),
        ("diagnostics.logs", 0.0, "prod", Tier.AUTOMATED),
        ("notify.internal", 0.0, "prod", Tier.AUTOMATED),
        ("monitoring.alarm", 0.0, "prod", Tier.AUTOMATED),
        ("flags.disable.ssm", 0.3, "prod", Tier.AUTOMATED),
        ("flags.disable.appconfig", 0.3, "prod", Tier.AUTOMATED),
        ("flags.enable.ssm", 0.3, "prod", Tier.APPROVAL),
        ("flags.enable.appconfig", 0.3, "staging", Tier.AUTOMATED),
        ("traffic.shift.route53", 0.25, "prod", Tier.AUTOMATED),
        ("traffic.shift.alb", 0.26, "prod", Tier.APPROVAL),
        ("traffic.shift.lambda", 0.1, "prod", Tier.AUTOMATED),
        ("traffic.shift.route53", 0.76, "prod", Tier.DENIED),
        ("traffic.shift.lambda", 0.8, "prod", Tier.DENIED),
        ("flags.disable.ssm", 1.0, "prod", Tier.AUTOMATED),
        ("rollback.ecs", 1.0, "prod", Tier.APPROVAL),
        ("rollback.ecs", 0.5, "prod", Tier.APPROVAL),
        ("rollback.lambda", 0.5, "prod", Tier.APPROVAL),
        ("rollback.asg", 0.5, "prod", Tier.APPROVAL),
        ("traffic.block", 0.1, "prod", Tier.APPROVAL),
        ("service.shutdown", 0.1, "prod", Tier.APPROVAL),
        ("data.restore", 0.1, "prod", Tier.APPROVAL),
        ("comms.external", 0.0, "prod", Tier.APPROVAL),
        ("comms.statuspage", 0.0, "prod", Tier.APPROVAL),
        ("recovery.heavy", 0.2, "prod", Tier.APPROVAL),
        ("decision.business-tradeoff", 0.0, "prod", Tier.HUMAN_ONLY),
        ("assessment.legal", 0.0, "prod", Tier.HUMAN_ONLY),
        ("comms.media", 0.0, "prod", Tier.HUMAN_ONLY),
        ("comms.crisis", 0.0, "prod", Tier.HUMAN_ONLY),
        ("escalation.human", 0.0, "prod", Tier.HUMAN_ONLY),
        ("breaker.open.ssm", 1.0, "prod", Tier.AUTOMATED),
        ("breaker.close.appconfig", 1.0, "prod", Tier.APPROVAL),
        ("capacity.scale.ecs", 0.5, "prod", Tier.APPROVAL),  # no capacity factor: not automated
        ("throttle.apigateway", 1.0, "prod", Tier.APPROVAL),
        ("maintenance.enable.alb", 1.0, "prod", Tier.APPROVAL),
        ("something.new", 0.1, "prod", Tier.DENIED),
    ],
)
def test_tiers_of_the_project_action_kinds(
    kind: str, blast_radius: float, environment: str, tier: Tier
) -> None:
    req = request(kind, blast_radius=blast_radius, environment=environment)
    decision = decide(req, context(), default_policy())
    assert decision.tier is tier, decision
    assert decision.reason
    if tier is Tier.APPROVAL:
        assert decision.approval is not None


def test_rollbacks_need_one_oncall_lead_and_escalate_on_timeout() -> None:
    decision = decide(request("rollback.lambda"), context(), default_policy())
    assert decision.approval is not None
    rule = decision.approval
    assert (rule.groups, rule.min_approvers, rule.timeout_seconds, str(rule.on_timeout)) == (
        ["oncall-leads"],
        1,
        900,
        "escalate",
    )


APPROVAL_KINDS = [
    "flags.enable.ssm",
    "traffic.shift.route53",
    "rollback.ecs",
    "rollback.lambda",
    "rollback.asg",
    "traffic.block",
    "service.shutdown",
    "data.restore",
    "comms.external",
    "comms.statuspage",
    "recovery.heavy",
    "breaker.close.ssm",
    "capacity.scale.asg",
    "throttle.apigateway",
    "maintenance.enable.alb",
    "maintenance.disable.alb",
]


@pytest.mark.parametrize("kind", APPROVAL_KINDS)
def test_every_approval_tier_kind_finds_an_approval_rule_that_names_people(kind: str) -> None:
    decision = decide(request(kind, blast_radius=0.5), context(), default_policy())
    assert decision.tier is Tier.APPROVAL and decision.approval is not None
    assert decision.approval.allowed(default_policy().groups)  # never "anyone"


@pytest.mark.parametrize("kind", APPROVAL_KINDS)
def test_every_approval_that_lets_production_change_needs_a_verified_identity(kind: str) -> None:
    # Issue 26 point 4: a name typed into the Prefect form must never let production change.
    decision = decide(request(kind, blast_radius=0.5, environment="prod"), context(), default_policy())
    assert decision.approval is not None and decision.approval.identity is Identity.VERIFIED, decision


def test_the_default_policy_lets_no_production_change_on_a_declared_identity() -> None:
    assert declared_in_production(default_policy()) == []


def test_fourth_rollback_in_an_hour_is_denied() -> None:
    counts = {"rollback-per-service:checkout": 3}
    decision = decide(request("rollback.ecs"), context(action_counts=counts), default_policy())
    assert decision.tier is Tier.DENIED
    assert decision.rule == "guardrail:rate_limit:rollback-per-service"


def test_packaged_file_is_the_repository_file() -> None:
    on_disk = load_policy(Path(policies.__file__).parent / "default.yaml")
    assert on_disk == default_policy()


def test_an_action_kind_no_rule_matches_is_denied_with_a_clear_reason() -> None:
    decision = decide(request("cache.flush.redis", blast_radius=0.1), context(), default_policy())
    assert decision.tier is Tier.DENIED
    assert decision.rule == "default"
    assert "no rule matches cache.flush.redis" in decision.reason and "denied" in decision.reason
