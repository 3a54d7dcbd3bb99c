"""``explain``: a decision with everything that went into it, for people and for JSON.

Used by ``firebreak policy explain`` and by the approval form: it shows the final tier, what the
rules alone would have said (so a guardrail denial does not hide the rule), every guardrail
with its verdict, and who may approve, with groups expanded to names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from policies.approvals import ApprovalRule
from policies.decide import Decision, RuleOutcome, approval_rule_for, decide, rule_outcome
from policies.policy import Policy
from policies.request import ActionRequest, DecisionContext
from policies.tiers import Tier


class Explanation(BaseModel):
    """Why an action got its tier; JSON-serialisable with ``model_dump_json``."""

    model_config = ConfigDict(frozen=True)

    policy: str = Field(description="Name of the policy that decided.")
    request: ActionRequest
    context: DecisionContext
    decision: Decision
    rules_say: RuleOutcome = Field(description="The rules' verdict before guardrails.")
    approval: ApprovalRule | None = Field(
        description="The approval rule the rules' tier calls for, shown even when a guardrail denied."
    )
    approvers: list[str] | None = Field(
        description="Who may approve (groups expanded); None when anyone may, empty when no approval."
    )


def explain(request: ActionRequest, context: DecisionContext, policy: Policy) -> Explanation:
    """Decide, and keep every input and intermediate verdict alongside the decision."""
    decision = decide(request, context, policy)
    rules_say = rule_outcome(request, context, policy)
    approval = approval_rule_for(request, policy) if rules_say.tier is Tier.APPROVAL else None
    allowed = approval.allowed(policy.groups) if approval is not None else set()
    return Explanation(
        policy=policy.name,
        request=request,
        context=context,
        decision=decision,
        rules_say=rules_say,
        approval=approval,
        approvers=None if allowed is None else sorted(allowed),
    )
