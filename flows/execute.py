"""One mutating action, end to end: plan -> decide -> (approve | hand to a human) -> apply.

This is the only path by which a flow changes AWS. The policy decides the tier; the kill
switch and rate limits are re-checked immediately before applying (an approval can take
minutes, the world changes meanwhile); drift since planning means re-plan and re-ask.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flows.gate import GateStatus, request_approval, request_human_action
from flows.incident_run import IncidentRun
from flows.killswitch import kill_switch_on
from flows.ratelimits import acquire, current_counts
from flows.report import MitigationRecord
from flows.timeline import Stage
from policies import ActionRequest, Decision, DecisionContext, Tier, decide
from tasks.actions import apply_action
from tasks.plan import ActionError, Applied, DriftError, Plan

MAX_REPLANS = 3


def request_for(plan: Plan) -> ActionRequest:
    return ActionRequest(
        kind=plan.kind,
        service=plan.service,
        environment=plan.environment,
        targets=plan.targets,
        blast_radius=plan.blast_radius,
        verified=True,
    )


def decide_now(run: IncidentRun, request: ActionRequest) -> Decision:
    """Decide with the live kill switch and live rate-limit counts."""
    context = DecisionContext(
        severity=run.severity,
        now=datetime.now(UTC),
        kill_switch=kill_switch_on(),
        action_counts=current_counts(request, run.policy),
        requester=run.requester,
    )
    return decide(request, context, run.policy)


def _record(
    run: IncidentRun, label: str, plan: Plan, decision: Decision, status: str, **kw: object
) -> MitigationRecord:
    return MitigationRecord(
        hypothesis=label,
        kind=plan.kind,
        tier=decision.tier.value,
        rule=decision.rule,
        status=status,
        plan_hash=plan.hash,
        **kw,
    )


def execute_plan(
    run: IncidentRun, make_plan: Callable[[], Plan], *, label: str, evidence: list[str], stage: Stage
) -> tuple[MitigationRecord, Applied | None]:
    """Run one action through the gate. Returns its record and, if applied, what was applied."""
    tl = run.timeline
    for _ in range(MAX_REPLANS):
        plan = make_plan()
        request = request_for(plan)
        decision = decide_now(run, request)
        tl.add(
            stage,
            "decision",
            f"{plan.kind}: {decision.tier.value} ({decision.reason})",
            actor=decision.rule,
            plan=plan.model_dump(mode="json"),
            guardrails=[g.model_dump(mode="json") for g in decision.guardrails],
        )
        if plan.is_noop:
            tl.add(stage, "noop", f"{plan.kind}: live state already as wanted, nothing to do")
            return _record(run, label, plan, decision, "noop"), None
        if decision.tier is Tier.DENIED:
            return _record(run, label, plan, decision, "denied", detail=decision.reason), None
        if decision.tier is Tier.HUMAN_ONLY:
            outcome = request_human_action(
                title=plan.summary,
                steps=[
                    f"{plan.kind} on {', '.join(plan.targets)}",
                    *(f"set {k}: {plan.before.get(k)} -> {v}" for k, v in plan.after.items()),
                ],
                why=f"policy rule {decision.rule}: {decision.reason}",
                evidence=evidence,
                timeline=tl,
                timeout_seconds=run.settings.bake_seconds * 4,
                poll_seconds=run.settings.approval_poll_seconds,
            )
            return _record(run, label, plan, decision, outcome.status.value, people=outcome.people), None
        if decision.tier is Tier.APPROVAL:
            outcome = request_approval(
                plan,
                decision,
                policy=run.policy,
                timeline=tl,
                requester=run.requester,
                evidence=evidence,
                poll_seconds=run.settings.approval_poll_seconds,
            )
            if outcome.status is not GateStatus.APPROVED:
                return _record(
                    run,
                    label,
                    plan,
                    decision,
                    outcome.status.value,
                    people=outcome.people,
                    detail=outcome.reason,
                ), None
            people = outcome.people
        else:
            people = []
        try:
            applied = _apply_guarded(run, plan, stage)
        except DriftError as e:
            tl.add(stage, "drift", f"{plan.kind}: {e}; re-planning")
            continue
        except _Halted as e:
            return _record(
                run, label, plan, e.decision, "denied", detail=e.decision.reason, people=people
            ), None
        except ActionError as e:
            tl.add(
                stage,
                "apply-failed",
                f"{plan.kind}: {e}",
                error=str(e),
                aws_faults=e.aws_faults,
                live_state=e.live_state,
            )
            return _record(run, label, plan, decision, "failed", detail=str(e), people=people), None
        return _record(
            run, label, plan, decision, "applied" if applied.changed else "noop", people=people
        ), applied
    tl.add(stage, "drift", f"live state kept changing; gave up after {MAX_REPLANS} plans")
    return _record(run, label, plan, decision, "failed", detail="state kept drifting"), None


def _limit_of(run: IncidentRun, request: ActionRequest, key: str) -> int:
    """The maximum of the rate limit behind ``key``: the count that makes the policy deny."""
    return next(lim.max_count for lim in run.policy.rate_limits if lim.key_for(request) == key)


class _Halted(Exception):
    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def _apply_guarded(run: IncidentRun, plan: Plan, stage: Stage) -> Applied:
    """Re-check kill switch and limits, then apply. Raises _Halted when a guardrail now denies."""
    request = request_for(plan)
    last_look = decide_now(run, request)
    if last_look.tier is Tier.DENIED:
        run.timeline.add(
            stage, "halted", f"{plan.kind} not applied: {last_look.reason}", actor=last_look.rule
        )
        raise _Halted(last_look)
    exhausted = acquire(request, run.policy)
    if exhausted is not None:
        context = DecisionContext(
            severity=run.severity,
            now=datetime.now(UTC),
            action_counts={exhausted: _limit_of(run, request, exhausted)},
            requester=run.requester,
        )
        denied = decide(request, context, run.policy)
        run.timeline.add(stage, "halted", f"{plan.kind} not applied: {denied.reason}", actor=denied.rule)
        raise _Halted(denied)
    run.timeline.add(stage, "applying", f"{plan.summary}", plan_hash=plan.hash)
    applied: Applied = apply_action(plan)
    if applied.aws_faults:
        run.timeline.add(
            stage,
            "aws-faults",
            f"{plan.kind}: {len(applied.aws_faults)} AWS error(s) met and overcome",
            aws_faults=applied.aws_faults,
        )
    run.timeline.add(
        stage,
        "applied" if applied.changed else "noop",
        f"{plan.kind}: {'changed' if applied.changed else 'already in place'}",
        plan_hash=plan.hash,
        request_ids=applied.request_ids,
        before=plan.before,
        after=applied.state_after,
        plan=plan.model_dump(mode="json"),
    )
    return applied
