"""Re-decide one recorded policy decision under another policy. Pure: no AWS, no Prefect.

A ``decision`` timeline entry (flows.execute) keeps the plan, the guardrail verdicts, the tier
and rule, and (since replay was added) the exact :class:`~policies.ActionRequest` and
:class:`~policies.DecisionContext` that :func:`policies.decide` was given. Replaying it is
calling ``decide`` again with the new policy.

An entry written before the request and context were recorded is rebuilt from what it does
keep, and every assumption is listed: the request from the plan (``verified`` from its
``verified_plan`` guardrail), the context from the report's severity, the entry's time and its
``kill_switch`` guardrail; rate-limit counts were not recorded and are taken as 0.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError, computed_field

from flows.timeline import Entry
from policies import ActionRequest, DecisionContext, Policy, Severity, Tier, decide


class ChangeKind(StrEnum):
    """What a replay found different, one per kind of difference."""

    TOP_HYPOTHESIS = "top hypothesis"
    TIER = "tier"
    GUARDRAIL = "guardrail would now stop it"
    APPROVAL = "approval now needed"


class ActionReplay(BaseModel):
    """One recorded decision, then and now."""

    kind: str
    stage: str = Field(description="The timeline stage: resolve, or recover for a later recover run.")
    plan_hash: str | None = None
    tier_then: str | None = Field(description="None when the record does not say.")
    rule_then: str
    tier_now: Tier
    rule_now: str
    reason_now: str
    guardrails_now: list[str] = Field(
        default_factory=list, description="Guardrails that fail now and did not then: 'name: detail'."
    )
    approval_now: str | None = Field(
        default=None, description="The approval rule now needed (and who may give it), when then none was."
    )
    assumed: list[str] = Field(default_factory=list, description="What was rebuilt, not recorded.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changes(self) -> list[ChangeKind]:
        found = []
        if self.tier_then is not None and self.tier_then != self.tier_now.value:
            found.append(ChangeKind.TIER)
        if self.guardrails_now:
            found.append(ChangeKind.GUARDRAIL)
        if self.approval_now is not None:
            found.append(ChangeKind.APPROVAL)
        return found


class ReplayError(Exception):
    """A decision entry cannot be re-decided; the message says what it lacks."""


def replay_decision(
    entry: Entry, policy: Policy, *, severity: str | None, tier_then: str | None = None
) -> ActionReplay:
    """``entry`` (a ``decision`` entry with a plan) decided again under ``policy``.

    ``severity`` (the report's) and ``tier_then`` (the report's record of this plan) are used
    only for entries older than the recorded request, context and tier.
    """
    data = entry.data
    plan: dict[str, Any] = data["plan"]
    assumed: list[str] = []
    try:
        if "request" in data and "context" in data:
            request = ActionRequest.model_validate(data["request"])
            context = DecisionContext.model_validate(data["context"])
        else:
            request, context, assumed = _rebuilt(entry, severity)
    except ValidationError as e:
        raise ReplayError(f"decision at {entry.at.isoformat()}: {e.error_count()} invalid field(s)") from e
    except (KeyError, ValueError) as e:  # an older entry's plan without a field, an unknown severity
        raise ReplayError(f"decision at {entry.at.isoformat()}: cannot rebuild its request: {e!r}") from e
    now = decide(request, context, policy)
    failed_then = {g["name"] for g in data.get("guardrails", []) if not g["passed"]}
    stopping = [g for g in now.guardrails if not g.passed and g.name not in failed_then]
    approval_now = None
    then = data.get("tier", tier_then)
    if then is None:
        assumed.append("tier then not recorded")
    if now.approval is not None and then is not None and then != Tier.APPROVAL.value:
        allowed = now.approval.allowed(policy.groups)
        who = "anyone" if allowed is None else ", ".join(sorted(allowed))
        approval_now = f"{now.approval.name}: {now.approval.min_approvers} of {who}"
    return ActionReplay(
        kind=request.kind,
        stage=entry.stage.value,
        plan_hash=plan.get("hash"),
        tier_then=then,
        rule_then=entry.actor,
        tier_now=now.tier,
        rule_now=now.rule,
        reason_now=now.reason,
        guardrails_now=[f"{g.name}: {g.detail}" for g in stopping],
        approval_now=approval_now,
        assumed=assumed,
    )  # fmt: skip


def _rebuilt(entry: Entry, severity: str | None) -> tuple[ActionRequest, DecisionContext, list[str]]:
    """The request and context of an entry older than their recording, and what was assumed."""
    if severity is None:
        raise ReplayError(
            f"decision at {entry.at.isoformat()}: no recorded context and no severity in the report"
        )
    plan, guardrails = entry.data["plan"], {g["name"]: g["passed"] for g in entry.data.get("guardrails", [])}
    request = ActionRequest(
        kind=plan["kind"], service=plan["service"], environment=plan["environment"], targets=plan["targets"],
        blast_radius=plan["blast_radius"], capacity_factor=plan.get("capacity_factor"),
        verified=guardrails.get("verified_plan", True),
    )  # fmt: skip
    context = DecisionContext(
        severity=Severity(severity), now=entry.at, kill_switch=not guardrails.get("kill_switch", True)
    )
    return (
        request,
        context,
        [
            "request and context not recorded: rebuilt from the plan, report severity, entry time",
            "plan verified: taken from its verified_plan guardrail",
            "kill switch: taken from its kill_switch guardrail",
            "rate-limit counts not recorded: taken as 0",
        ],
    )
