"""A Slack button click, read from the callback, and the receiver's judgement of it (pure).

The order of reasoning in :func:`judge`: a click counts only for the step that is waiting now
(the run is paused, for the plan the message showed, before its deadline), then only from a
Slack user the policy lists under ``people`` (``slack_id``), then only from a person the
approval rule allows: that last check is the policy's own ``evaluate_approvals`` on this one
answer, so the receiver refuses what the flow would refuse for who answered. The flow still
checks the answer in full (M of N, the requester rule) when it resumes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from urllib.parse import parse_qs

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flows.identity import person_with_slack_id
from flows.slack_buttons import ButtonValue, SlackAction
from policies import ApprovalAnswer, Policy, evaluate_approvals
from policies.approvals import Proof

CLICK_KEY_PREFIX = "firebreak-slack-"


class SlackPayloadError(ValueError):
    """The callback's body is not a Firebreak button click."""


class ClickOutcome(StrEnum):
    """What became of one click."""

    ANSWERED = "answered"  # passed to the flow as a verified answer
    REFUSED = "refused"  # who clicked may not answer this step
    ENDED = "ended"  # the step it was for is no longer waiting
    REPLAYED = "replayed"  # this very click was received before


class Click(BaseModel):
    """The parts of Slack's ``block_actions`` payload the receiver uses."""

    model_config = ConfigDict(frozen=True)

    slack_user: str
    action: SlackAction
    value: ButtonValue
    channel: str
    ts: str = Field(description="The message's ts: Slack's id of the message clicked.")
    action_ts: str = Field(description="When Slack took the click: one per click, so a replay repeats it.")
    response_url: str
    headline: str = Field(description="The message's fallback text.")

    @property
    def approve(self) -> bool:
        return self.action is SlackAction.APPROVE

    @property
    def key(self) -> str:
        """The flow run input key this click is recorded under: the same click, the same key."""
        ident = "|".join((self.slack_user, self.channel, self.ts, self.action_ts, self.action.value))
        return CLICK_KEY_PREFIX + hashlib.sha256(ident.encode()).hexdigest()[:32]


class PausedStep(BaseModel):
    """What the run shows now: paused or not, for which plan, until when."""

    model_config = ConfigDict(frozen=True)

    paused: bool
    plan_hash: str | None = None
    deadline: AwareDatetime | None = None


class Judgement(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: ClickOutcome
    reason: str
    approver: str | None = None


class ClickRecord(BaseModel):
    """A click as recorded on the run (flow run input under :attr:`Click.key`), for its timeline."""

    model_config = ConfigDict(frozen=True)

    slack_user: str
    approver: str | None
    approve: bool
    outcome: ClickOutcome
    reason: str
    plan_hash: str
    at: AwareDatetime


def parse_click(body: bytes) -> Click:
    """The click in a form-encoded ``payload=`` callback body; SlackPayloadError otherwise."""
    try:
        payload = json.loads(parse_qs(body.decode(), strict_parsing=True)["payload"][0])
        action = payload["actions"][0]
        return Click(
            slack_user=payload["user"]["id"],
            action=SlackAction(action["action_id"]),
            value=ButtonValue.model_validate_json(action["value"]),
            channel=payload["channel"]["id"],
            ts=payload["message"]["ts"],
            action_ts=action["action_ts"],
            response_url=payload["response_url"],
            headline=payload["message"].get("text", ""),
        )
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError, ValidationError) as e:
        raise SlackPayloadError(f"not a Firebreak button click: {type(e).__name__}") from e


def judge(click: Click, step: PausedStep, *, policy: Policy, now: datetime) -> Judgement:
    """Whether ``click`` may answer ``step``, and why not."""
    if not step.paused or step.plan_hash is None:
        return Judgement(outcome=ClickOutcome.ENDED, reason="this step is no longer waiting; nothing changed")
    if step.plan_hash != click.value.plan_hash:
        return Judgement(
            outcome=ClickOutcome.ENDED,
            reason=f"the plan changed since this message (now {step.plan_hash}); nothing changed",
        )
    if step.deadline is not None and now >= step.deadline:
        return Judgement(
            outcome=ClickOutcome.ENDED,
            reason=f"the deadline passed at {step.deadline:%H:%M:%S}; nothing changed",
        )
    approver = person_with_slack_id(policy, click.slack_user)
    if approver is None:
        return Judgement(
            outcome=ClickOutcome.REFUSED,
            reason=f"Slack user {click.slack_user} is not any person's slack_id in the policy",
        )
    rule = next((r for r in policy.approvals if r.name == click.value.rule), None)
    if rule is None:
        return Judgement(
            outcome=ClickOutcome.REFUSED, reason=f"the policy has no approval rule {click.value.rule!r}"
        )
    answer = ApprovalAnswer(
        approver=approver, approved=click.approve, plan_hash=step.plan_hash, proof=Proof.VERIFIED
    )
    verdict = evaluate_approvals(rule, [answer], requester=None, plan_hash=step.plan_hash, policy=policy)
    refusal = verdict.refusals.get(0)
    if refusal is not None:
        return Judgement(outcome=ClickOutcome.REFUSED, reason=refusal, approver=approver)
    verb = "approved" if click.approve else "rejected"
    return Judgement(outcome=ClickOutcome.ANSWERED, reason=f"{approver} {verb}", approver=approver)
