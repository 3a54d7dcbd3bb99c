"""One mutating action, end to end: plan -> decide -> (approve | hand to a human) -> apply.

This is the only path by which a flow changes AWS. The policy decides the tier; just before
applying, live state is read again (drift means re-plan and re-ask), the kill switch and rate
limits are checked again (an approval can take minutes, the world changes meanwhile), a place in
every rate limit is reserved, and the kill switch is read once more immediately before each
AWS write (``tasks.steps.write_guard``, installed for the whole run by :func:`guarded`).

In shadow mode (``policy.mode_for(env) is Mode.SHADOW``) every action is decided as usual and
recorded as *would apply*, with its plan, tier and the approvers it would have needed; nothing
pauses and nothing is written. The write guard refuses every write in shadow mode too, so no
other path (an undo hook, a recovery) can write either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flows.gate import GateStatus, request_approval, request_human_action
from flows.incident_run import IncidentRun
from flows.killswitch import kill_switch_on, write_guard_for
from flows.paging import page_human
from flows.ratelimits import Slot, current_counts, release, reserve
from flows.report import MitigationRecord, MitigationStatus
from flows.timeline import Stage
from policies import ActionRequest, Decision, DecisionContext, Mode, Tier, decide
from tasks.actions import apply_action, read_live
from tasks.plan import ActionError, Applied, DriftError, Plan
from tasks.steps import WriteRefusedError, write_guard

MAX_REPLANS = 3


@contextmanager
def guarded(run: IncidentRun) -> Iterator[None]:
    """Every AWS write inside the block first reads the kill switch (and obeys shadow mode)."""
    with write_guard(write_guard_for(run.mode)):
        yield


def request_for(plan: Plan, *, verified: bool = True) -> ActionRequest:
    return ActionRequest(
        kind=plan.kind,
        service=plan.service,
        environment=plan.environment,
        targets=plan.targets,
        blast_radius=plan.blast_radius,
        verified=verified,
        capacity_factor=plan.capacity_factor,
    )


def is_verified(plan: Plan) -> bool:
    """Verified: the targets were just read live and still hold the plan's ``before``.

    A plan whose targets cannot be read, or whose live state no longer equals ``before`` (nor
    already ``after``), is unverified; the policy denies unverified mutating plans in production.
    """
    try:
        live = read_live(plan)
    except ActionError:
        return False
    return live in (plan.before, plan.after)


def context_now(run: IncidentRun, request: ActionRequest) -> DecisionContext:
    """The decision's circumstances now: the live kill switch and the live rate-limit counts."""
    return DecisionContext(
        severity=run.severity,
        now=datetime.now(UTC),
        kill_switch=kill_switch_on(),
        action_counts=current_counts(request, run.policy),
        requester=run.requester,
    )


def decide_now(run: IncidentRun, request: ActionRequest) -> Decision:
    """Decide with the live kill switch and the live rate-limit counts."""
    return decide(request, context_now(run, request), run.policy)


def _record(
    label: str, planned: Plan, decision: Decision, status: MitigationStatus, **kw: Any
) -> MitigationRecord:
    return MitigationRecord(
        hypothesis=label,
        kind=planned.kind,
        tier=decision.tier.value,
        rule=decision.rule,
        status=status,
        plan_hash=planned.hash,
        **kw,
    )


def execute_plan(
    run: IncidentRun, make_plan: Callable[[], Plan], *, label: str, evidence: list[str], stage: Stage
) -> tuple[MitigationRecord, Applied | None]:
    """Run one action through the gate. Returns its record and, when the wanted state is live
    (applied now, or already in place), the Applied that says so."""
    tl = run.timeline
    for _ in range(MAX_REPLANS):
        plan = make_plan()
        request = request_for(plan, verified=is_verified(plan))
        context = context_now(run, request)
        decision = decide(request, context, run.policy)
        tl.add(
            stage,
            "decision",
            f"{plan.kind}: {decision.tier.value} ({decision.reason})",
            actor=decision.rule,
            plan=plan.model_dump(mode="json"),
            guardrails=[g.model_dump(mode="json") for g in decision.guardrails],
            tier=decision.tier.value,
            request=request.model_dump(mode="json"),
            context=context.model_dump(mode="json"),  # with the request: what `firebreak replay` re-decides
        )
        if plan.is_noop:
            tl.add(stage, "noop", f"{plan.kind}: live state already as wanted, nothing to do")
            already = Applied(plan=plan, changed=False, state_after=plan.after)
            return _record(label, plan, decision, MitigationStatus.NOOP), already
        if decision.tier is Tier.DENIED:
            return _record(label, plan, decision, MitigationStatus.DENIED, detail=decision.reason), None
        if run.mode is Mode.SHADOW:
            return _would_apply(run, label, plan, decision, stage), None
        if decision.tier is Tier.HUMAN_ONLY:
            return _hand_to_human(run, label, plan, decision, evidence), None
        people: list[str] = []
        if decision.tier is Tier.APPROVAL:
            outcome = request_approval(
                plan,
                decision,
                policy=run.policy,
                timeline=tl,
                requester=run.requester,
                evidence=evidence,
                poll_seconds=run.settings.approval_poll_seconds,
                incident=run,
            )
            if outcome.status is not GateStatus.APPROVED:
                return _record(
                    label,
                    plan,
                    decision,
                    MitigationStatus(outcome.status.value),
                    people=outcome.people,
                    detail=outcome.reason,
                    on_timeout=outcome.on_timeout,
                ), None
            people = outcome.people
        try:
            applied = _apply_guarded(run, plan, stage)
        except DriftError as e:
            tl.add(stage, "drift", f"{plan.kind}: {e}; re-planning")
            continue
        except _Halted as e:
            return _record(
                label, plan, e.decision, e.status, detail=e.decision.reason or str(e), people=people
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
            page_human(run, stage, f"mitigation {plan.kind} failed: {e}")
            return _record(label, plan, decision, MitigationStatus.FAILED, detail=str(e), people=people), None
        status = MitigationStatus.APPLIED if applied.changed else MitigationStatus.NOOP
        detail = f"applied; read-back failed: {applied.read_back_error}" if applied.read_back_error else ""
        return _record(label, plan, decision, status, people=people, detail=detail), applied
    tl.add(stage, "drift", f"live state kept changing; gave up after {MAX_REPLANS} plans")
    return _record(label, plan, decision, MitigationStatus.FAILED, detail="state kept drifting"), None


def _would_apply(
    run: IncidentRun, label: str, plan: Plan, decision: Decision, stage: Stage
) -> MitigationRecord:
    """Shadow mode: record what would be applied, at which tier and with whose approval."""
    approvers: list[str] = []
    if decision.approval is not None:
        allowed = decision.approval.allowed(run.policy.groups)
        approvers = sorted(allowed) if allowed is not None else ["anyone (distinct from the requester)"]
    run.timeline.add(
        stage,
        "would-apply",
        f"[shadow] would apply {plan.kind} ({decision.tier.value}, rule {decision.rule}): {plan.summary}",
        actor=decision.rule,
        plan_hash=plan.hash,
        plan=plan.model_dump(mode="json"),
        tier=decision.tier.value,
        approvers=approvers,
    )
    return _record(
        label,
        plan,
        decision,
        MitigationStatus.WOULD_APPLY,
        plan=plan.model_dump(mode="json"),
        approvers_needed=approvers,
        detail=plan.summary,
    )


def _hand_to_human(
    run: IncidentRun, label: str, plan: Plan, decision: Decision, evidence: list[str]
) -> MitigationRecord:
    outcome = request_human_action(
        title=plan.summary,
        steps=[
            f"{plan.kind} on {', '.join(plan.targets)}",
            *(f"set {k}: {plan.before.get(k)} -> {v}" for k, v in plan.after.items()),
        ],
        why=f"policy rule {decision.rule}: {decision.reason}",
        evidence=evidence,
        timeline=run.timeline,
        timeout_seconds=run.settings.bake_seconds * 4,
        poll_seconds=run.settings.approval_poll_seconds,
        incident=run,
    )
    return _record(label, plan, decision, MitigationStatus(outcome.status.value), people=outcome.people)


class _Halted(Exception):
    def __init__(self, decision: Decision, status: MitigationStatus = MitigationStatus.DENIED) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.status = status


def _denied_by_limit(run: IncidentRun, request: ActionRequest, key: str) -> Decision:
    """The decision the policy gives when the limit behind ``key`` is full."""
    maximum = next(lim.max_count for lim in run.policy.rate_limits if lim.key_for(request) == key)
    context = DecisionContext(
        severity=run.severity, now=datetime.now(UTC), action_counts={key: maximum}, requester=run.requester
    )
    return decide(request, context, run.policy)


def _apply_guarded(run: IncidentRun, plan: Plan, stage: Stage) -> Applied:
    """Re-read, re-decide, reserve rate-limit places, apply. Raises _Halted when now refused."""
    live = read_live(plan)
    if live not in (plan.before, plan.after):
        raise DriftError(f"live state {live} is no longer the plan's before {plan.before}")
    request = request_for(plan)
    last_look = decide_now(run, request)
    if last_look.tier is Tier.DENIED:
        run.timeline.add(
            stage, "halted", f"{plan.kind} not applied: {last_look.reason}", actor=last_look.rule
        )
        raise _Halted(last_look)
    reservation = reserve(request, run.policy, incident_id=run.incident_id, plan_hash=plan.hash)
    if reservation.full is not None:
        denied = _denied_by_limit(run, request, reservation.full)
        run.timeline.add(stage, "halted", f"{plan.kind} not applied: {denied.reason}", actor=denied.rule)
        raise _Halted(denied)
    run.timeline.add(stage, "applying", f"{plan.summary}", plan_hash=plan.hash)
    try:
        applied: Applied = apply_action(plan)
    except WriteRefusedError as e:
        if not e.done:  # a refused multi-region change keeps its places for what it applied
            release(reservation.slots)
        _record_refused(run, plan, stage, e)
        raise _Halted(last_look.model_copy(update={"reason": str(e)}), MitigationStatus.HALTED) from e
    except ActionError as e:
        _release_if_unchanged(reservation.slots, plan, e)
        raise
    except Exception:
        _release_if_provably_unchanged(run, reservation.slots, plan, stage)
        raise
    if not applied.changed:
        release(reservation.slots)
    _record_applied(run, plan, stage, applied)
    return applied


def _release_if_unchanged(slots: list[Slot], plan: Plan, error: ActionError) -> None:
    """A failed write that provably changed nothing gives its rate-limit places back."""
    if isinstance(error, DriftError) or error.live_state == plan.before:
        release(slots)


def _release_if_provably_unchanged(run: IncidentRun, slots: list[Slot], plan: Plan, stage: Stage) -> None:
    """An unplanned failure (a bug, the Prefect API) while applying: the places go back only when
    the targets read back as the plan's ``before``; otherwise they stay counted, and the timeline
    says which."""
    try:
        unchanged = read_live(plan) == plan.before
    except ActionError as e:
        run.timeline.add(stage, "places-kept", f"{plan.kind}: live state unreadable ({e}); places kept")
        return
    if unchanged:
        release(slots)
        run.timeline.add(stage, "places-released", f"{plan.kind}: nothing changed; places given back")
    else:
        run.timeline.add(stage, "places-kept", f"{plan.kind}: live state changed; rate-limit places kept")


def _record_refused(run: IncidentRun, plan: Plan, stage: Stage, error: WriteRefusedError) -> None:
    """Like a safety lever, the kill switch stops and does not undo: say exactly what is live."""
    if error.done:
        message = f"{plan.kind}: partly applied before the kill switch stopped it ({', '.join(error.done)})"
        _applied_entry(run, plan, stage, message, after=error.live_state, partial=True)
    run.timeline.add(
        stage,
        "halted",
        f"{plan.kind} stopped before writing: {error}",
        plan_hash=plan.hash,
        applied_steps=error.done,
        not_applied_steps=error.not_done,
        live_state=error.live_state,
    )


def _record_applied(run: IncidentRun, plan: Plan, stage: Stage, applied: Applied) -> None:
    if applied.aws_faults:
        run.timeline.add(
            stage,
            "aws-faults",
            f"{plan.kind}: {len(applied.aws_faults)} AWS error(s) met and overcome",
            aws_faults=applied.aws_faults,
        )
    if not applied.changed:
        run.timeline.add(stage, "noop", f"{plan.kind}: already in place", plan_hash=plan.hash)
        return
    unconfirmed = f" (read-back failed: {applied.read_back_error})" if applied.read_back_error else ""
    _applied_entry(
        run,
        plan,
        stage,
        f"{plan.kind}: changed{unconfirmed}",
        after=applied.state_after,
        request_ids=applied.request_ids,
        read_back_error=applied.read_back_error,
    )


def _applied_entry(run: IncidentRun, plan: Plan, stage: Stage, message: str, **data: Any) -> None:
    """The timeline's record of a change in effect: what ``recover`` and the reports read."""
    run.timeline.add(
        stage,
        "applied",
        message,
        plan_hash=plan.hash,
        before=plan.before,
        plan=plan.model_dump(mode="json"),
        **data,
    )
