"""The human gates: pause for an approval (M-of-N, bound to a plan hash) or for a human-only step.

Only this module pauses flow runs. Each answer's proof of identity, when it carries one, is
checked here (flows/identity.py: signed for this run and plan, fresh, not used before in this
run, by a key the policy lists), then the answers are checked by the policy's pure
``evaluate_approvals``; refused answers (unknown approver, self-approval, another plan's hash,
a typed name where the rule needs a verified identity, a forged or replayed proof) are
recorded with their reason and the gate keeps waiting until the deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from prefect import pause_flow_run
from prefect.exceptions import FlowPauseTimeout, Pause
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from flows.escalation import Waiting, announce_wait, cadence_for, record_escalations
from flows.forms import ApprovalInput, HumanTaskInput, approval_markdown, checklist_markdown
from flows.identity import ProofCheck, check_proof
from flows.incident_run import IncidentRun
from flows.paging import acknowledge, page_human
from flows.slack_post import post_approval_request, record_clicks
from flows.timeline import Stage, Timeline
from policies import ApprovalAnswer, ApprovalStatus, Decision, Policy, evaluate_approvals
from policies.approvals import Proof
from tasks.plan import Plan


class GateStatus(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    DONE = "done"
    NOT_DONE = "not_done"


class GateOutcome(BaseModel):
    status: GateStatus
    people: list[str] = Field(default_factory=list, description="Approvers counted / operator.")
    reason: str = ""
    on_timeout: str | None = Field(default=None, description="The policy's answer when timed out.")


def _used_proofs(timeline: Timeline) -> set[str]:
    return {str(e.data["proof_id"]) for e in timeline.events("approval-answer") if e.data.get("proof_id")}


def _checked(answer: ApprovalInput, *, policy: Policy, plan_hash: str, timeline: Timeline) -> ProofCheck:
    """The identity finding for one answer: declared (no proof), verified, or invalid."""
    if not answer.proof:
        return ProofCheck(proof=Proof.DECLARED)
    check = check_proof(
        answer.proof,
        policy=policy,
        flow_run_id=str(flow_run.id),
        plan_hash=plan_hash,
        now=datetime.now(UTC),
        used=_used_proofs(timeline),
    )
    s = check.statement
    if (
        check.proof is Proof.VERIFIED
        and s is not None
        and (s.approver, s.approve)
        != (
            answer.approver,
            answer.approve,
        )
    ):
        verb = "approve" if s.approve else "reject"
        detail = f"the signature says {s.approver} chose {verb}, the form differs"
        return check.model_copy(update={"proof": Proof.INVALID, "detail": detail})
    return check


def _before_pause(incident: IncidentRun | None, key: str, why: str) -> None:
    """Set the escalation timers and the status cadence of the pause about to start
    (flows/escalation.py)."""
    if incident is None or flow_run.id is None:
        return
    waiting = Waiting(
        incident_id=incident.incident_id,
        service=incident.service,
        environment=incident.environment,
        severity=incident.severity,
        pause_key=key,
        since=datetime.now(UTC),
        levels=incident.policy.paging.levels_for(incident.severity),
        why=why,
        status=cadence_for(incident),
    )
    announce_wait(flow_run.id, waiting, incident.timeline, Stage.RESOLVE)


def request_approval(
    plan: Plan,
    decision: Decision,
    *,
    policy: Policy,
    timeline: Timeline,
    requester: str | None,
    evidence: list[str],
    poll_seconds: int,
    incident: IncidentRun | None = None,
) -> GateOutcome:
    """Pause until the plan is approved by enough distinct allowed people, rejected, or timed out.

    With ``incident``, a wait at SEV-1/SEV-2 pages the on-call level first and a decisive
    answer acknowledges the page (flows/paging.py)."""
    rule = decision.approval
    if rule is None:  # policies.decide never returns approval without a rule; refuse, never guess
        raise ValueError(f"decision {decision.rule} asks for approval but names no approval rule")
    deadline = datetime.now(UTC) + timedelta(seconds=rule.timeout_seconds)
    answers: list[ApprovalAnswer] = []
    accepted: list[str] = []
    posted = False  # to Slack, once per request: its buttons answer every re-ask of this plan
    timeline.add(
        Stage.RESOLVE,
        "approval-requested",
        f"Waiting for {rule.min_approvers} approval(s) of {plan.kind} until {deadline:%H:%M:%S}",
        actor=decision.rule,
        plan_hash=plan.hash,
        plan=plan.model_dump(mode="json"),
    )
    if incident is not None:
        waits = f"approval of {plan.kind} waits until {deadline:%H:%M:%S}"
        page_human(incident, Stage.RESOLVE, waits, approval=True)
    while True:
        remaining = int((deadline - datetime.now(UTC)).total_seconds())
        if remaining <= 0:
            break
        form = ApprovalInput.with_initial_data(
            description=approval_markdown(
                incident_id=timeline.incident_id,
                flow_run_id=str(flow_run.get_id()),
                plan=plan,
                decision=decision,
                evidence=evidence,
                deadline=deadline,
                needed=rule.min_approvers,
                have=accepted,
                identity=rule.identity,
            ),
            plan_hash=plan.hash,
            identity=rule.identity,
        )
        key = f"approve-{plan.hash}-{len(timeline.entries)}"
        if _an_earlier_pause_timed_out():
            timeline.add(
                Stage.RESOLVE, "approval-impossible", f"cannot wait for approval: {NO_PAUSE_AFTER_TIMEOUT}"
            )
            return GateOutcome(
                status=GateStatus.TIMED_OUT,
                people=accepted,
                reason=NO_PAUSE_AFTER_TIMEOUT,
                on_timeout=rule.on_timeout.value,
            )
        _before_pause(incident, key, f"approval of {plan.kind}")
        if not posted:
            post_approval_request(
                incident,
                flow_run_id=flow_run.get_id(),
                plan=plan,
                decision=decision,
                deadline=deadline,
                evidence=evidence,
            )
            posted = True
        try:
            answer = pause_flow_run(
                wait_for_input=form, timeout=remaining, poll_interval=poll_seconds, key=key
            )
        except FlowPauseTimeout:
            _note_pause_timed_out()
            record_escalations(flow_run.id, timeline, Stage.RESOLVE)
            record_clicks(flow_run.id, timeline)
            break
        except Pause as e:  # the run cannot pause again once an earlier pause timed out
            timeline.add(Stage.RESOLVE, "approval-impossible", f"cannot wait for approval: {e}")
            return GateOutcome(
                status=GateStatus.TIMED_OUT, people=accepted, reason=str(e), on_timeout=rule.on_timeout.value
            )
        record_escalations(flow_run.id, timeline, Stage.RESOLVE)
        record_clicks(flow_run.id, timeline)
        check = _checked(answer, policy=policy, plan_hash=plan.hash, timeline=timeline)
        answers.append(
            ApprovalAnswer(
                approver=answer.approver,
                approved=answer.approve,
                reason=answer.reason,
                plan_hash=answer.plan_hash,
                proof=check.proof,
                proof_detail=check.detail,
            )
        )
        verdict = evaluate_approvals(rule, answers, requester=requester, plan_hash=plan.hash, policy=policy)
        accepted = list(verdict.accepted)
        refusal = verdict.refusals.get(len(answers) - 1)
        verb = "approved" if answer.approve else "rejected"
        said = f"{answer.approver} {verb}: {answer.reason or '(no reason)'}"
        timeline.add(
            Stage.RESOLVE,
            "approval-answer",
            f"refused: {refusal}" if refusal is not None else f"{said} -> {verdict.status.value}",
            actor=answer.approver,
            plan_hash=plan.hash,
            verdict=verdict.model_dump(mode="json"),
            proof=check.proof.value,
            proof_id=check.proof_id,
            channel=check.statement.channel.value if check.statement else None,
        )
        if verdict.status is not ApprovalStatus.PENDING and incident is not None:
            acknowledge(incident, Stage.RESOLVE, accepted or [answer.approver])
        if verdict.status is ApprovalStatus.APPROVED:
            return GateOutcome(status=GateStatus.APPROVED, people=accepted, reason=answer.reason)
        if verdict.status is ApprovalStatus.REJECTED:
            return GateOutcome(status=GateStatus.REJECTED, people=[answer.approver], reason=answer.reason)
    timeline.add(
        Stage.RESOLVE,
        "approval-timeout",
        f"No sufficient approval of {plan.kind} by {deadline:%H:%M:%S}; policy says {rule.on_timeout}",
        actor=decision.rule,
        plan_hash=plan.hash,
    )
    return GateOutcome(
        status=GateStatus.TIMED_OUT,
        people=accepted,
        reason=f"no sufficient approval by {deadline:%H:%M:%S}",
        on_timeout=rule.on_timeout.value,
    )


NO_PAUSE_AFTER_TIMEOUT = "an earlier pause of this run timed out, and Prefect ends such a run Failed"
_TIMED_OUT_RUNS: set[str] = set()


def _note_pause_timed_out() -> None:
    """Remember that this flow run's pause timed out: Prefect will not let it pause again.

    Prefect marks the run Failed on a pause timeout, and a later pause fails either with
    ``Pause`` or, once the server has recorded the Failed state, with a RuntimeError; so the
    gate does not try (architecture decision 3).
    """
    run_id = flow_run.get_id()
    if run_id is not None:
        _TIMED_OUT_RUNS.add(run_id)


def _an_earlier_pause_timed_out() -> bool:
    run_id = flow_run.get_id()
    return run_id is not None and run_id in _TIMED_OUT_RUNS


def request_human_action(
    *,
    title: str,
    steps: list[str],
    why: str,
    evidence: list[str],
    timeline: Timeline,
    timeout_seconds: int,
    poll_seconds: int,
    incident: IncidentRun | None = None,
) -> GateOutcome:
    """Hand a checklist to a person and wait for their confirmation. Firebreak never acts here.

    With ``incident``, the hand-off pages the on-call level and the answer acknowledges it."""
    timeline.add(Stage.RESOLVE, "human-action-requested", f"{title}: {len(steps)} step(s)", steps=steps)
    if incident is not None:
        page_human(incident, Stage.RESOLVE, f"a human is needed: {title}")
    form = HumanTaskInput.with_initial_data(
        description=checklist_markdown(
            incident_id=timeline.incident_id, title=title, steps=steps, evidence=evidence, why=why
        ),
    )
    key = f"human-{len(timeline.entries)}"
    if _an_earlier_pause_timed_out():
        timeline.add(
            Stage.RESOLVE,
            "human-action-impossible",
            f"cannot wait for a human here ({NO_PAUSE_AFTER_TIMEOUT}); the status update pages them instead",
        )
        return GateOutcome(status=GateStatus.TIMED_OUT, reason=NO_PAUSE_AFTER_TIMEOUT)
    _before_pause(incident, key, title)
    try:
        answer = pause_flow_run(
            wait_for_input=form, timeout=timeout_seconds, poll_interval=poll_seconds, key=key
        )
    except FlowPauseTimeout:
        _note_pause_timed_out()
        record_escalations(flow_run.id, timeline, Stage.RESOLVE)
        timeline.add(Stage.RESOLVE, "human-action-timeout", f"Nobody confirmed '{title}'")
        return GateOutcome(status=GateStatus.TIMED_OUT)
    except Pause as e:  # an earlier pause timed out: Prefect will not let this run pause again
        timeline.add(
            Stage.RESOLVE,
            "human-action-impossible",
            f"cannot wait for a human here ({e}); the status update pages them instead",
        )
        return GateOutcome(status=GateStatus.TIMED_OUT, reason=str(e))
    record_escalations(flow_run.id, timeline, Stage.RESOLVE)
    status = GateStatus.DONE if answer.done else GateStatus.NOT_DONE
    if incident is not None:
        acknowledge(incident, Stage.RESOLVE, [answer.operator])
    timeline.add(
        Stage.RESOLVE,
        "human-action-confirmed",
        f"{answer.operator}: {status.value}. {answer.notes}",
        actor=answer.operator,
    )
    return GateOutcome(status=status, people=[answer.operator], reason=answer.notes)
