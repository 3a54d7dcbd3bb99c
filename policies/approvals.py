"""Approval rules and the pure check of the answers people give.

The open-source Prefect server has no users, so an approver's name is self-declared. What can
be enforced is enforced here: the name must be on the rule's allow-list (people or groups),
each person counts once, the requester may not approve their own action unless the rule says
so, and an answer only counts for the exact plan hash it was given for.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from policies.selectors import Name, Selector
from policies.tiers import TimeoutOutcome

if TYPE_CHECKING:
    from policies.policy import Policy


def _person(name: str) -> str:
    """Names compare case- and space-insensitively, so "Alice " and "alice" are one person."""
    return name.strip().casefold()


class ApprovalRule(Selector):
    """Who may approve the selected actions, how many of them, and what a timeout means.

    No ``approvers`` and no ``groups`` means anyone may approve (still distinct people, still
    not the requester unless allowed).
    """

    name: Name = "approval"
    approvers: list[Name] = Field(default_factory=list, description="People allowed to approve.")
    groups: list[Name] = Field(default_factory=list, description="Groups (from the policy) allowed.")
    min_approvers: int = Field(default=1, ge=1, description="Distinct approvals needed (M of N).")
    requester_may_approve: bool = False
    timeout_seconds: int = Field(default=900, ge=1, description="How long to wait for approvals.")
    on_timeout: TimeoutOutcome = TimeoutOutcome.ESCALATE

    def allowed(self, groups: dict[str, list[str]]) -> set[str] | None:
        """The normalised names allowed to approve, or None when anyone may."""
        if not self.approvers and not self.groups:
            return None
        members = [m for g in self.groups for m in groups.get(g, [])]
        return {_person(n) for n in [*self.approvers, *members]}


class ApprovalAnswer(BaseModel):
    """One person's answer to one approval request."""

    model_config = ConfigDict(frozen=True)

    approver: str = Field(pattern=r"\S", description="Self-declared name; checked against the rule.")
    approved: bool
    reason: str = ""
    plan_hash: str = Field(description="Hash of the plan the person saw.")


class ApprovalStatus(StrEnum):
    """Where an approval request stands."""

    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


class ApprovalVerdict(BaseModel):
    """The outcome of checking the answers so far; ``accepted`` lists who counted as approving."""

    model_config = ConfigDict(frozen=True)

    status: ApprovalStatus
    reasons: list[str]
    accepted: list[str]
    refusals: dict[int, str] = Field(
        default_factory=dict, description="Index of each refused answer -> why it did not count."
    )


def _refusal(
    rule: ApprovalRule, answer: ApprovalAnswer, *, requester: str | None, plan_hash: str,
    allowed: set[str] | None, seen: set[str],
) -> str | None:
    who = _person(answer.approver)
    if answer.plan_hash != plan_hash:
        return f"{answer.approver}: answered for plan {answer.plan_hash}, not {plan_hash}"
    if allowed is not None and who not in allowed:
        return f"{answer.approver} is not an allowed approver under rule {rule.name!r}"
    if requester is not None and who == _person(requester) and not rule.requester_may_approve:
        return f"{answer.approver}: the requester may not approve their own action"
    if who in seen:
        return f"{answer.approver}: already answered; each person counts once"
    return None


def evaluate_approvals(
    rule: ApprovalRule, answers: list[ApprovalAnswer], *, requester: str | None, plan_hash: str,
    policy: Policy,
) -> ApprovalVerdict:
    """Check the answers against the rule, in the order they were given.

    Invalid answers are refused with a reason and do not count. One valid rejection rejects;
    ``min_approvers`` distinct valid approvals approve; anything less is still pending.
    """
    allowed = rule.allowed(policy.groups)
    reasons: list[str] = []
    seen: set[str] = set()
    accepted: list[str] = []
    refusals: dict[int, str] = {}
    rejected = False
    for i, answer in enumerate(answers):
        refusal = _refusal(rule, answer, requester=requester, plan_hash=plan_hash, allowed=allowed, seen=seen)
        if refusal is not None:
            reasons.append(f"refused {refusal}")
            refusals[i] = refusal
            continue
        seen.add(_person(answer.approver))
        if answer.approved:
            accepted.append(answer.approver)
        else:
            rejected = True
            reasons.append(f"rejected by {answer.approver}: {answer.reason or '(no reason given)'}")
    if rejected:
        return ApprovalVerdict(
            status=ApprovalStatus.REJECTED, reasons=reasons, accepted=accepted, refusals=refusals
        )
    count = f"{len(accepted)} of {rule.min_approvers} approval(s)"
    status = ApprovalStatus.APPROVED if len(accepted) >= rule.min_approvers else ApprovalStatus.PENDING
    return ApprovalVerdict(status=status, reasons=[*reasons, count], accepted=accepted, refusals=refusals)
