"""``decide``: the one function that gives an action its tier.

Order: guardrails first (any failure denies, whatever the rules say), then the first matching
rule, then the policy's default tier. An approval-tier decision carries the approval rule that
applies; if none does, the action is denied rather than approved by nobody in particular.
Guardrails only ever deny, so nothing in the context can turn human_only into automated.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from policies.approvals import ApprovalRule
from policies.guardrails import GuardrailResult, check_guardrails
from policies.policy import Policy
from policies.request import ActionRequest, DecisionContext
from policies.rules import first_match
from policies.tiers import Tier


class Decision(BaseModel):
    """A tier, the rule (or guardrail) that produced it, and why."""

    model_config = ConfigDict(frozen=True)

    tier: Tier
    rule: str
    reason: str
    guardrails: list[GuardrailResult]
    approval: ApprovalRule | None = None


class RuleOutcome(BaseModel):
    """What the rules alone say, before guardrails are applied."""

    model_config = ConfigDict(frozen=True)

    tier: Tier
    rule: str
    reason: str


def rule_outcome(request: ActionRequest, context: DecisionContext, policy: Policy) -> RuleOutcome:
    """The tier the first matching rule gives (or the default tier), ignoring guardrails."""
    rule = first_match(policy.rules, request, context)
    if rule is None:
        return RuleOutcome(
            tier=policy.default_tier,
            rule="default",
            reason=f"no rule matches {request.kind}: {policy.default_tier.value} by the policy's default"
            + (" (add a rule for this kind to allow it)" if policy.default_tier is Tier.DENIED else ""),
        )
    return RuleOutcome(tier=rule.tier, rule=rule.name, reason=rule.reason)


def approval_rule_for(request: ActionRequest, policy: Policy) -> ApprovalRule | None:
    """The first approval rule that selects the request."""
    return next((rule for rule in policy.approvals if rule.selects(request)), None)


def decide(request: ActionRequest, context: DecisionContext, policy: Policy) -> Decision:
    """Decide how much human involvement ``request`` needs now.

    >>> decide(request, context, default_policy()).tier
    <Tier.APPROVAL: 'approval'>
    """
    guardrails = check_guardrails(request, context, policy)
    failed = [g for g in guardrails if not g.passed]
    if failed:
        return Decision(
            tier=Tier.DENIED,
            rule="guardrail:" + ",".join(g.name for g in failed),
            reason="; ".join(g.detail for g in failed),
            guardrails=guardrails,
        )
    outcome = rule_outcome(request, context, policy)
    if outcome.tier is not Tier.APPROVAL:
        return Decision(tier=outcome.tier, rule=outcome.rule, reason=outcome.reason, guardrails=guardrails)
    approval = approval_rule_for(request, policy)
    if approval is None:
        return Decision(
            tier=Tier.DENIED,
            rule=outcome.rule,
            reason=f"{outcome.reason}; but no approval rule covers {request.kind}, so nobody may approve it",
            guardrails=guardrails,
        )
    return Decision(
        tier=outcome.tier, rule=outcome.rule, reason=outcome.reason, guardrails=guardrails, approval=approval
    )
