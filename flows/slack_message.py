"""The Slack message of an approval request, and its "decided" version: Block Kit, built pure.

The request shows what the Prefect form shows (flows/forms.py): the plan's before -> after
rows, blast radius, targets, the rule that asked, the evidence and the deadline, then
**Approve** and **Reject** buttons. A button's ``value`` is a :class:`ButtonValue`: the flow
run, the plan hash and the approval rule's name, nothing secret. Slack sends it back in the
signed callback, and the receiver checks it against the run that is paused now.

>>> blocks = approval_blocks(request)
>>> [b["type"] for b in blocks][-1]
'actions'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from flows.forms import plan_rows
from flows.slack_buttons import ButtonValue, SlackAction
from tasks.plan import Plan

SECTION_LIMIT = 3000  # characters Slack accepts in one section's text
EVIDENCE_LINES = 10


class ApprovalRequest(BaseModel):
    """Everything the request message shows."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    flow_run_id: str
    plan: Plan
    rule: str = Field(description="The approval rule's name.")
    reason: str = Field(description="Why the policy asks (the decision's reason).")
    needed: int = Field(ge=1, description="Distinct approvals needed.")
    deadline: AwareDatetime
    evidence: list[str] = Field(default_factory=list)


class Decided(BaseModel):
    """One answer given in Slack, for the updated message. The receiver knows the request only
    from the callback, so the headline is the posted message's fallback text."""

    model_config = ConfigDict(frozen=True)

    headline: str
    approver: str
    slack_user: str
    approve: bool
    at: AwareDatetime


def _text(text: str) -> MarkdownTextObject:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return MarkdownTextObject(text=text)


def _headline(incident_id: str, plan: Plan) -> str:
    return f"{incident_id}: approve {plan.kind} on {plan.service} ({plan.environment})?"


def _changes(plan: Plan) -> str:
    lines = [
        f"{'*' + key + '*' if changed else key}: {before} → {after}"
        for key, before, after, changed in plan_rows(plan)
    ]
    return "*Before → after*\n" + "\n".join(lines)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def approval_blocks(request: ApprovalRequest) -> list[dict[str, Any]]:
    """The request message: plan, blast radius, rule, evidence, deadline, Approve / Reject."""
    plan = request.plan
    value = ButtonValue(flow_run_id=request.flow_run_id, plan_hash=plan.hash, rule=request.rule)
    evidence = request.evidence[:EVIDENCE_LINES] or ["(none recorded)"]
    more = len(request.evidence) - EVIDENCE_LINES
    if more > 0:
        evidence.append(f"… and {more} more in the Prefect form")
    blocks: list[Block] = [
        HeaderBlock(text=_headline(request.incident_id, plan)[:150]),
        SectionBlock(
            text=_text(
                f"*{plan.summary}*\nDecide by *{_when(request.deadline)}* "
                f"({request.needed} approval(s) needed)."
            )
        ),
        SectionBlock(text=_text(_changes(plan))),
        SectionBlock(
            text=_text(
                f"*Blast radius:* {plan.blast_radius:.0%} of the service's traffic or capacity\n"
                f"*Targets:* {', '.join(f'`{t}`' for t in plan.targets)}\n"
                f"*Reversible:* {'yes' if plan.reversible else 'NO'}\n"
                f"*Asked by rule:* `{request.rule}`: {request.reason}"
            )
        ),
        SectionBlock(text=_text("*Evidence*\n" + "\n".join(f"• {line}" for line in evidence))),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve",
                    action_id=SlackAction.APPROVE.value,
                    value=value.model_dump_json(),
                    style="primary",
                ),
                ButtonElement(
                    text="Reject",
                    action_id=SlackAction.REJECT.value,
                    value=value.model_dump_json(),
                    style="danger",
                ),
            ]
        ),
        ContextBlock(elements=[MarkdownTextObject(text=f"plan hash `{plan.hash}`")]),
    ]
    return [block.to_dict() for block in blocks]


def approval_text(request: ApprovalRequest) -> str:
    """The message's plain-text fallback (notifications, screen readers)."""
    return f"{_headline(request.incident_id, request.plan)} {request.plan.summary}"


def decided_blocks(decided: Decided) -> list[dict[str, Any]]:
    """The message after an answer: who decided what, when; no buttons left to press. The flow
    still checks the answer (M of N, the requester rule): its timeline has the verdict."""
    verb = "approved" if decided.approve else "rejected"
    blocks: list[Block] = [
        SectionBlock(text=_text(decided.headline)),
        SectionBlock(
            text=_text(
                f"*{verb.upper()}* by {decided.approver} (<@{decided.slack_user}>) at {_when(decided.at)}"
            )
        ),
    ]
    return [block.to_dict() for block in blocks]


def decided_text(decided: Decided) -> str:
    """The updated message's plain-text fallback."""
    verb = "approved" if decided.approve else "rejected"
    return f"{decided.approver} {verb}: {decided.headline}"
