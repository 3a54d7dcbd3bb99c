"""What a human sees and answers when a flow pauses: the input forms and their text.

The Prefect UI renders a paused run's form from these RunInput models (field titles and
descriptions become labels and help text) and shows the markdown description above it, so the
text here is what an approver reads at 3 a.m.: the plan as a small before/after table, the
blast radius, the evidence, the rule that asked, and the deadline.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from prefect.input import RunInput
from pydantic import Field

from flows.markdown_escape import escape_markdown
from flows.ranking import Adjustment
from flows.signed_answers import PASTE_MINUTES, offline_command, send_command
from policies import Decision
from policies.approvals import Identity
from tasks.plan import Plan


class ApprovalInput(RunInput):
    """The approver's answer to one plan."""

    approve: bool = Field(
        default=False,
        title="Approve this plan",
        description="On: Firebreak applies exactly the plan shown above. Off: the plan is rejected.",
    )
    approver: str = Field(
        title="Your name",
        description="As listed in the policy's approvers (e.g. alice). Recorded in the timeline.",
        min_length=1,
    )
    reason: str = Field(
        default="",
        title="Reason",
        description="Why you approve or reject. Recorded in the timeline and the postmortem.",
    )
    plan_hash: str = Field(
        title="Plan hash (leave as filled in)",
        description="Binds your answer to this exact plan; an answer for another plan is refused.",
    )
    identity: Identity = Field(
        default=Identity.DECLARED,
        title="Identity the rule needs (leave as filled in)",
        description="verified: a typed name does not count; paste a signed proof below, answer "
        "from the CLI with --key, or in Slack.",
    )
    proof: str = Field(
        default="",
        title="Signed proof (needed where the rule needs a verified identity)",
        description=(
            "Paste the output of `firebreak approve FLOW_RUN_ID --as NAME --plan-hash HASH "
            "--key PATH --offline` (add --reject to reject; the text above the form shows the "
            f"command with this run's id and hash), within {PASTE_MINUTES} minutes of printing it; "
            "your name and the Approve switch must say what you signed. Empty: a typed name, which a "
            "verified rule refuses. `firebreak approve --key` and the Slack receiver fill it in."
        ),
    )


class HumanTaskInput(RunInput):
    """A person's confirmation of a human-only step Firebreak will never perform itself."""

    done: bool = Field(
        default=False,
        title="Done",
        description="On: I have done every step of the checklist. Off: not done (say why below).",
    )
    operator: str = Field(title="Your name", description="Who did (or did not do) it.", min_length=1)
    notes: str = Field(default="", title="Notes", description="What you did, saw or decided.")


def _cell(value: Any) -> str:
    """One table cell. An ARN shows only its resource name (``checkout:2``): a full ARN is wider
    than the UI's form and pushes the "after" column out of sight; the account, region and
    resource type are in the targets line, and the plan hash binds the full value."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if text.startswith("arn:") and text.count(":") >= 5:
        text = text.split(":", 5)[5].rsplit("/", 1)[-1]
    return f"`{text}`".replace("|", "\\|")


def plan_rows(plan: Plan) -> list[tuple[str, str, str, bool]]:
    """(key, before cell, after cell, changed) for every key the plan reads or sets, sorted: the
    rows of the before → after table in the form and in Slack."""
    rows = []
    for key in sorted(set(plan.before) | set(plan.after)):
        before, after = plan.before.get(key), plan.after.get(key)
        rows.append((key, _cell(before), _cell(after), before != after))
    return rows


def plan_table(plan: Plan) -> str:
    """A markdown before → after table of the keys the plan changes (and the ones it keeps)."""
    rows = ["| changes | before | after |", "|---|---|---|"]
    for key, before, after, changed in plan_rows(plan):
        mark = "**" if changed else ""
        rows.append(f"| {mark}{key}{mark} | {before} | {after} |")
    return "\n".join(rows)


def approval_markdown(
    *,
    incident_id: str,
    flow_run_id: str,
    plan: Plan,
    decision: Decision,
    evidence: list[str],
    deadline: datetime,
    needed: int,
    have: list[str],
    identity: Identity = Identity.DECLARED,
) -> str:
    """The description shown above the approval form: what changes, by when to decide, why.

    The deadline and the approvals count come first: the form scrolls, and they are what a
    person paged at 3 a.m. needs before the details.
    """
    supporting = "\n".join(f"- {line}" for line in evidence) or "- (none recorded)"
    so_far = f" ({escape_markdown(', '.join(have))})" if have else ""
    lines = [
        f"### {incident_id}: approve `{plan.kind}` on {plan.service} ({plan.environment})?",
        "",
        f"**{plan.summary}**",
        "",
        f"Decide by **{deadline.strftime('%Y-%m-%d %H:%M:%S %Z')}**: {len(have)} of {needed} "
        f"approval(s) so far{so_far}. Unanswered by then, the policy's timeout outcome applies.",
        "",
        plan_table(plan),
        "",
        f"- **Blast radius:** {plan.blast_radius:.0%} of the service's traffic or capacity",
        f"- **Targets:** {', '.join(f'`{t}`' for t in plan.targets)}",
        f"- **Reversible:** {'yes' if plan.reversible else 'NO'}",
        f"- **Asked by rule:** `{decision.rule}`: {decision.reason}",
        "",
        "**Evidence**",
        "",
        supporting,
        "",
        _how_to_answer(flow_run_id, plan, identity),
    ]
    return "\n".join(lines)


def _how_to_answer(flow_run_id: str, plan: Plan, identity: Identity) -> str:
    if identity is Identity.VERIFIED:
        return (
            "**Your answer:** this rule needs a **verified identity**: a name typed into this "
            "form alone is refused. To answer here, print a proof with your key (no network "
            f"needed): `{offline_command(flow_run_id, plan.hash)}` (add `--reject` to reject), "
            f"paste it into *Signed proof* within {PASTE_MINUTES} minutes, give the same name "
            "and set *Approve this plan* to what you signed. Or answer from a terminal in one step: "
            f"`{send_command(flow_run_id, plan.hash)}` (or set FIREBREAK_APPROVER_KEY), or with "
            "the Slack buttons."
        )
    return (
        "**Your answer** (below): switch *Approve this plan* on to approve, leave it off to "
        "reject; give your name as the policy lists it, and a reason for the record. Leave "
        f"*Plan Hash* as filled in (`{plan.hash}`): it binds your answer to this exact plan."
    )


def similar_incident_lines(adjustments: list[Adjustment]) -> list[str]:
    """Evidence lines naming the similar past incidents (same service, alarm and record kind)
    behind each ranking adjustment, with their outcomes; the approval form and the human
    checklist show them under Evidence."""
    return [
        f"past incident {p.incident_id}: {a.kind} "
        + ("verified" if p.verified else "did NOT recover the signal")
        + (f" (approved by {escape_markdown(', '.join(p.people))})" if p.people else "")
        for a in adjustments
        for p in a.past
    ]


def checklist_markdown(
    *, incident_id: str, title: str, steps: list[str], evidence: list[str], why: str
) -> str:
    """The description shown above a human-only step's confirmation form."""
    numbered = "\n".join(f"{i}. [ ] {step}" for i, step in enumerate(steps, start=1))
    supporting = "\n".join(f"- {line}" for line in evidence) or "- (none recorded)"
    return (
        f"### {incident_id}: HUMAN ACTION REQUIRED: {title}\n\n"
        f"Firebreak will not do this itself: {why}\n\n"
        f"**Checklist**\n\n{numbered}\n\n**Evidence**\n\n{supporting}\n\n"
        "When you have finished (or decided not to), answer below."
    )
