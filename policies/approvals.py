"""Approval rules and the pure check of the answers people give.

The open-source Prefect server has no users, so a name typed into its form is self-declared.
What can be enforced is enforced here: the name must be on the rule's allow-list (people or
groups), each person counts once, the requester may not approve their own action unless the
rule says so, and an answer only counts for the exact plan hash it was given for. A rule with
``identity: verified`` also refuses every answer whose channel did not prove who gave it (a
signed CLI answer, or a Slack click the receiver attested); the flow checks the signature
(flows/identity.py) and hands the result in as :attr:`ApprovalAnswer.proof`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from policies.selectors import Name, Selector
from policies.tiers import TimeoutOutcome

if TYPE_CHECKING:
    from policies.policy import Policy


PUBLIC_KEY = r"^ed25519:[A-Za-z0-9+/]{43}=$"  # 32 raw bytes, base64
SLACK_ID = r"^[UW][A-Z0-9]{2,20}$"

PublicKeyText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=PUBLIC_KEY),
    Field(description="An ed25519 public key: 'ed25519:' then its 32 raw bytes in base64."),
]


class Identity(StrEnum):
    """What proves who answered, as an approval rule requires it."""

    DECLARED = "declared"  # a name typed into the Prefect UI form counts
    VERIFIED = "verified"  # only a signed CLI answer or a Slack click the receiver attested


class Proof(StrEnum):
    """What the flow found when it checked an answer's identity."""

    DECLARED = "declared"  # no proof given: a typed name
    VERIFIED = "verified"  # a valid signature by the named person (or the receiver, for Slack)
    INVALID = "invalid"  # a proof was given and failed: forged, stale, replayed or mismatched


class Person(BaseModel):
    """How an approver proves who they are: their CLI signing key and their Slack user id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    public_key: PublicKeyText | None = Field(
        default=None, description="Verifies their signed CLI answers (`firebreak policy keygen`)."
    )
    slack_id: Annotated[str, StringConstraints(pattern=SLACK_ID)] | None = Field(
        default=None, description="Their Slack user id (U... or W...): a button click from it is theirs."
    )

    @property
    def can_prove(self) -> bool:
        """True when at least one channel can prove this person's identity."""
        return self.public_key is not None or self.slack_id is not None


def person_key(name: str) -> str:
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
    identity: Identity = Field(
        default=Identity.DECLARED,
        description="verified: only answers whose channel proves the approver's identity count.",
    )

    def allowed(self, groups: dict[str, list[str]]) -> set[str] | None:
        """The normalised names allowed to approve, or None when anyone may."""
        if not self.approvers and not self.groups:
            return None
        members = [m for g in self.groups for m in groups.get(g, [])]
        return {person_key(n) for n in [*self.approvers, *members]}


class ApprovalAnswer(BaseModel):
    """One person's answer to one approval request."""

    model_config = ConfigDict(frozen=True)

    approver: str = Field(pattern=r"\S", description="Self-declared name; checked against the rule.")
    approved: bool
    reason: str = ""
    plan_hash: str = Field(description="Hash of the plan the person saw.")
    proof: Proof = Field(default=Proof.DECLARED, description="What the flow found checking identity.")
    proof_detail: str = Field(default="", description="Why an invalid proof failed.")


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
    who = person_key(answer.approver)
    if answer.plan_hash != plan_hash:
        return f"{answer.approver}: answered for plan {answer.plan_hash}, not {plan_hash}"
    if allowed is not None and who not in allowed:
        return f"{answer.approver} is not an allowed approver under rule {rule.name!r}"
    if answer.proof is Proof.INVALID:
        return f"{answer.approver}: identity not proven: {answer.proof_detail}"
    if rule.identity is Identity.VERIFIED and answer.proof is not Proof.VERIFIED:
        return (
            f"{answer.approver}: rule {rule.name!r} needs a verified identity and a name typed into "
            "a form proves nothing; answer with `firebreak approve RUN --as NAME --key PATH` "
            "(or FIREBREAK_APPROVER_KEY), or with the Slack buttons"
        )
    if requester is not None and who == person_key(requester) and not rule.requester_may_approve:
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
        seen.add(person_key(answer.approver))
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
