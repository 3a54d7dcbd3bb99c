"""evaluate_approvals(): allow-lists, M-of-N distinct people, self-approval, plan-hash binding."""

from __future__ import annotations

import pytest

from policies import (
    ApprovalAnswer,
    ApprovalRule,
    ApprovalStatus,
    ApprovalVerdict,
    default_policy,
    evaluate_approvals,
)
from policies.approvals import Identity, Proof
from tests.policies.helpers import policy

HASH = "a1b2c3d4e5f60718"
GROUPS = policy(groups={"leads": ["alice", "bob"], "ics": ["carol"]})


def yes(who: str, plan_hash: str = HASH) -> ApprovalAnswer:
    return ApprovalAnswer(approver=who, approved=True, reason="looks right", plan_hash=plan_hash)


def no(who: str) -> ApprovalAnswer:
    return ApprovalAnswer(approver=who, approved=False, reason="wrong service", plan_hash=HASH)


def verdict(
    rule: ApprovalRule, answers: list[ApprovalAnswer], requester: str | None = "flow-bot"
) -> ApprovalVerdict:
    return evaluate_approvals(rule, answers, requester=requester, plan_hash=HASH, policy=GROUPS)


LEADS = ApprovalRule(groups=["leads"], min_approvers=1)
TWO = ApprovalRule(groups=["leads", "ics"], approvers=["dave"], min_approvers=2)


def test_one_allowed_approval_approves() -> None:
    result = verdict(LEADS, [yes("alice")])
    assert result.status is ApprovalStatus.APPROVED
    assert result.accepted == ["alice"]


def test_no_answers_is_pending() -> None:
    result = verdict(LEADS, [])
    assert result.status is ApprovalStatus.PENDING
    assert result.accepted == []


def test_approver_outside_the_allow_list_is_refused() -> None:
    result = verdict(LEADS, [yes("mallory")])
    assert result.status is ApprovalStatus.PENDING
    assert result.accepted == []
    assert any("mallory is not an allowed approver" in r for r in result.reasons)
    assert result.refusals == {0: "mallory is not an allowed approver under rule 'approval'"}


def test_m_of_n_needs_distinct_people() -> None:
    once = verdict(TWO, [yes("alice"), yes("alice"), yes("Alice ")])
    assert once.status is ApprovalStatus.PENDING
    assert once.accepted == ["alice"]
    assert sum("already answered" in r for r in once.reasons) == 2
    twice = verdict(TWO, [yes("alice"), yes("dave")])
    assert twice.status is ApprovalStatus.APPROVED
    assert twice.accepted == ["alice", "dave"]


def test_requester_may_not_approve_unless_allowed() -> None:
    refused = verdict(LEADS, [yes("alice")], requester="alice")
    assert refused.status is ApprovalStatus.PENDING
    assert any("requester may not approve" in r for r in refused.reasons)
    allowed = LEADS.model_copy(update={"requester_may_approve": True})
    assert verdict(allowed, [yes("alice")], requester="alice").status is ApprovalStatus.APPROVED


def test_answer_for_another_plan_does_not_count() -> None:
    result = verdict(LEADS, [yes("alice", plan_hash="ffffffffffffffff")])
    assert result.status is ApprovalStatus.PENDING
    assert any("ffffffffffffffff" in r for r in result.reasons)


def test_a_valid_rejection_rejects_even_after_approvals() -> None:
    result = verdict(TWO, [yes("alice"), yes("dave"), no("carol")])
    assert result.status is ApprovalStatus.REJECTED
    assert any("rejected by carol: wrong service" in r for r in result.reasons)


def test_an_invalid_rejection_is_ignored() -> None:
    result = verdict(LEADS, [no("mallory"), yes("bob")])
    assert result.status is ApprovalStatus.APPROVED
    assert result.accepted == ["bob"]


def test_empty_rule_lets_anyone_approve_but_still_not_the_requester() -> None:
    anyone = ApprovalRule()
    assert verdict(anyone, [yes("zoe")]).status is ApprovalStatus.APPROVED
    assert verdict(anyone, [yes("flow-bot")]).status is ApprovalStatus.PENDING


def test_blank_approver_name_is_rejected_at_the_edge() -> None:
    with pytest.raises(ValueError, match="approver"):
        ApprovalAnswer(approver="  ", approved=True, plan_hash=HASH)


def test_default_comms_rule_needs_two_of_the_listed_people() -> None:
    p = default_policy()
    [comms] = [a for a in p.approvals if a.name == "communications"]
    answers = [yes("erin"), yes("carol")]
    result = evaluate_approvals(comms, answers[:1], requester=None, plan_hash=HASH, policy=p)
    assert result.status is ApprovalStatus.PENDING
    result = evaluate_approvals(comms, answers, requester=None, plan_hash=HASH, policy=p)
    assert result.status is ApprovalStatus.APPROVED


VERIFIED = ApprovalRule(name="prod", groups=["leads"], identity=Identity.VERIFIED)


def test_a_typed_name_does_not_count_where_the_rule_needs_a_verified_identity() -> None:
    result = verdict(VERIFIED, [yes("alice")])
    assert result.status is ApprovalStatus.PENDING and result.accepted == []
    assert "needs a verified identity" in result.refusals[0]
    assert "--key" in result.refusals[0]  # says how to answer instead


def test_a_verified_answer_counts_and_an_invalid_proof_never_does() -> None:
    proven = yes("alice").model_copy(update={"proof": Proof.VERIFIED})
    assert verdict(VERIFIED, [proven]).status is ApprovalStatus.APPROVED
    forged = yes("bob").model_copy(update={"proof": Proof.INVALID, "proof_detail": "does not verify"})
    result = verdict(LEADS, [forged])  # refused even where a typed name would do
    assert result.refusals == {0: "bob: identity not proven: does not verify"}


def test_policy_identity_gaps_name_who_cannot_prove_who_they_are() -> None:
    data = {
        "groups": {"leads": ["alice", "bob"]},
        "people": {"alice": {"public_key": "ed25519:" + "A" * 42 + "A="}},
        "approvals": [{"name": "prod", "groups": ["leads"], "identity": "verified"}],
    }
    gaps = policy(**data).identity_gaps()
    assert gaps == [
        "approvals[0] (prod): identity verified, but bob have no public_key or slack_id under "
        "people: their answers will be refused"
    ]
