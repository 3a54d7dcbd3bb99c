"""decide(): guardrails before rules, first match, default tier, approval attached."""

from __future__ import annotations

import pytest

from policies import Policy, Tier, TimeoutOutcome, decide, default_policy, explain
from tests.policies.helpers import context, policy, request

RULES = [
    {"name": "auto-flags", "actions": ["flags.*"], "tier": "automated", "reason": "flags are cheap"},
    {"name": "legal", "actions": ["assessment.legal"], "tier": "human_only", "reason": "lawyers decide"},
    {"name": "no-data", "actions": ["data.delete"], "tier": "denied", "reason": "never delete data"},
]


def test_rule_gives_tier_rule_name_and_reason() -> None:
    decision = decide(request("flags.disable.ssm"), context(), policy(rules=RULES))
    assert decision.tier is Tier.AUTOMATED
    assert (decision.rule, decision.reason) == ("auto-flags", "flags are cheap")
    assert decision.approval is None
    assert all(g.passed for g in decision.guardrails)


def test_a_rule_may_deny_outright() -> None:
    decision = decide(request("data.delete"), context(), policy(rules=RULES))
    assert decision.tier is Tier.DENIED
    assert decision.rule == "no-data"


def test_default_tier_when_no_rule_matches() -> None:
    decision = decide(request("recovery.unknown"), context(), policy(rules=RULES, default_tier="human_only"))
    assert decision.tier is Tier.HUMAN_ONLY
    assert decision.rule == "default"


def test_guardrail_failure_denies_and_names_every_failed_guardrail() -> None:
    req = request("flags.disable.ssm", blast_radius=0.9)
    cap = {"name": "flags", "max_blast_radius": 0.5}
    capped = policy(rules=RULES, guardrails={"blast_radius_caps": [cap]})
    decision = decide(req, context(kill_switch=True), capped)
    assert decision.tier is Tier.DENIED
    assert decision.rule == "guardrail:kill_switch,blast_radius_cap:flags"
    assert "kill switch is on" in decision.reason
    assert "above the cap" in decision.reason


def test_approval_tier_carries_the_first_matching_approval_rule() -> None:
    decision = decide(request("rollback.ecs"), context(), default_policy())
    assert decision.tier is Tier.APPROVAL
    assert decision.approval is not None
    # issue 15: in prod the first matching rule is the one that needs a verified identity
    assert decision.approval.name == "prod-rollbacks"
    assert decision.approval.identity == "verified"
    assert decision.approval.groups == ["oncall-leads"]
    assert decision.approval.on_timeout is TimeoutOutcome.ESCALATE
    assert not decision.approval.requester_may_approve


def test_approval_tier_without_any_approval_rule_is_denied() -> None:
    decision = decide(request("rollback.ecs"), context(), policy(default_tier="approval"))
    assert decision.tier is Tier.DENIED
    assert "no approval rule" in decision.reason


@pytest.mark.parametrize(
    "kind", ["rollback.ecs", "flags.disable.ssm", "traffic.shift.route53", "comms.external"]
)
def test_deny_all_policy_denies_every_mutating_action(kind: str) -> None:
    decision = decide(request(kind), context(), Policy.deny_all("file is broken"))
    assert decision.tier is Tier.DENIED
    assert decision.rule == "guardrail:lockdown"
    assert "file is broken" in decision.reason


@pytest.mark.parametrize(
    ("kind", "tier"),
    [
        ("snapshot.collect", Tier.AUTOMATED),
        ("notify.internal", Tier.AUTOMATED),
        ("page.pagerduty", Tier.AUTOMATED),
        ("escalation.human", Tier.HUMAN_ONLY),
    ],
)
def test_deny_all_policy_still_lets_firebreak_read_page_and_escalate(kind: str, tier: Tier) -> None:
    """A typo in the policy must never silence the people who have to act."""
    decision = decide(request(kind, blast_radius=0.0), context(), Policy.deny_all("file is broken"))
    assert decision.tier is tier, decision.reason


def test_explain_shows_what_the_rules_said_under_a_denial() -> None:
    explanation = explain(request("rollback.ecs"), context(kill_switch=True), default_policy())
    assert explanation.decision.tier is Tier.DENIED
    assert explanation.rules_say.tier is Tier.APPROVAL
    assert explanation.rules_say.rule == "rollbacks"
    assert explanation.approval is not None
    assert explanation.approvers == ["alice", "bob"]


def test_explain_for_anyone_and_for_no_approval() -> None:
    open_rule = {"name": "anyone", "actions": ["*"], "min_approvers": 1}
    approve_all = policy(
        rules=[{"name": "all", "actions": ["*"], "tier": "approval", "reason": "r"}], approvals=[open_rule]
    )
    anyone = explain(request("recovery.heavy"), context(), approve_all)
    assert anyone.approval is not None
    assert anyone.approval.name == "anyone"
    assert anyone.approvers is None
    automated = explain(request("flags.disable.ssm"), context(), default_policy())
    assert automated.approval is None
    assert automated.approvers == []
