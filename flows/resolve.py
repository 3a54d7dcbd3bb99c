"""Resolve and verify: try the ranked mitigations one at a time, bake each, stop when it holds.

Never chains automation blindly: each mitigation must be followed by a bake of the triggering
signal; only if it did not recover does the next candidate get its turn. When every candidate
failed, was denied or rejected and the key metric is still beyond the catalog's
``outage_threshold``, the maintenance page is the last candidate (2 approvers by default).
When none is left (or the first hypothesis is "nobody knows"), a human gets the evidence and a
checklist, which names what config_change and escalate hypotheses found (a person's change, a
dependency without a breaker).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from flows.diagnosis import Hypothesis, HypothesisKind, ScorePart
from flows.diagnosis.outage import beyond_outage
from flows.execute import decide_now, execute_plan
from flows.gate import GateStatus, request_human_action
from flows.incident_run import IncidentRun
from flows.joined import record_joins
from flows.killswitch import kill_switch_on
from flows.mitigations import planner_for
from flows.report import MitigationRecord, MitigationStatus
from flows.timeline import Stage
from flows.verify import bake, signal_metric
from policies import ActionRequest, Mode, Tier, TimeoutOutcome
from tasks.actions import verify_action
from tasks.catalog import CatalogError
from tasks.metrics import latest_value
from tasks.plan import ActionError

OUTAGE_PERIODS = 3  # the key metric's latest value within this many periods decides maintenance


class Escalation(StrEnum):
    """What became of handing the incident to a person."""

    DONE = "done"  # they confirmed the checklist
    NOT_DONE = "not_done"  # they answered that it is not done
    TIMED_OUT = "timed_out"  # nobody answered in time
    DENIED = "denied"  # the policy refused the hand-over (e.g. a locked-down policy)


_ESCALATION_OF = {
    GateStatus.DONE: Escalation.DONE,
    GateStatus.NOT_DONE: Escalation.NOT_DONE,
    GateStatus.TIMED_OUT: Escalation.TIMED_OUT,
}


class Resolution(BaseModel):
    records: list[MitigationRecord] = Field(default_factory=list, description="Tried for real.")
    would_apply: list[MitigationRecord] = Field(default_factory=list, description="Shadow mode.")
    recovered_at: datetime | None = None
    halted: bool = False
    escalation: Escalation | None = Field(default=None, description="None: nobody was asked.")


def resolve(run: IncidentRun, hypotheses: list[Hypothesis], evidence: list[str]) -> Resolution:
    """Apply mitigations in rank order until the signal recovers; escalate otherwise.

    At most ``max_mitigations`` candidates are planned and decided; one that cannot be planned
    (no known-good release, nothing in the catalog) is recorded and does not count.

    In shadow mode every candidate is decided and recorded as would-apply, in rank order, and
    nobody is asked or paged.
    """
    result = Resolution()
    candidates = [h for h in hypotheses if h.kind.automated]
    planned = 0
    unanswered = False
    for hypothesis in candidates:
        if planned >= run.settings.max_mitigations:
            break
        record = _try(run, hypothesis, evidence)
        planned += record.plan_hash is not None  # a candidate that could not even be planned changed nothing
        if record.status is MitigationStatus.WOULD_APPLY:
            result.would_apply.append(record)
            continue
        if _settled(result, record):
            return result
        if record.status is MitigationStatus.TIMED_OUT and record.on_timeout == TimeoutOutcome.ESCALATE.value:
            unanswered = True
            break  # the policy says an unanswered approval goes to a human, not to the next fix
    last = None if unanswered else maintenance_candidate(run, result.records)
    if last is not None and _settled(result, _try(run, last, evidence)):
        return result
    if run.mode is Mode.SHADOW:
        run.timeline.add(Stage.RESOLVE, "would-escalate", "[shadow] would hand the incident to a human")
        return result
    result.escalation = escalate(run, hypotheses, evidence, tried=result.records)
    result.halted = result.escalation is Escalation.DENIED and kill_switch_on()
    return result


def _settled(result: Resolution, record: MitigationRecord) -> bool:
    """Record a real attempt; True when resolving stops here (halted, or the signal recovered)."""
    result.records.append(record)
    if record.status is MitigationStatus.HALTED or (
        record.status is MitigationStatus.DENIED and kill_switch_on()
    ):
        result.halted = True
        return True
    if record.verified:
        result.recovered_at = datetime.now(UTC)
        return True
    return False


def maintenance_candidate(run: IncidentRun, tried: list[MitigationRecord]) -> Hypothesis | None:
    """The maintenance page, when candidates were tried for real and none held, the catalog has
    an ``outage_threshold`` and an ALB in the alert's region, and the key metric is still beyond
    the threshold. Not in shadow mode (nothing was tried for real there), and not after an
    unanswered approval the policy sends to a human. It is planned beyond ``max_mitigations``:
    it is the last resort, and the policy asks two people for it by default."""
    threshold = run.entry.outage_threshold
    if not tried or threshold is None or run.entry.region(run.region).alb is None:
        return None
    spec = signal_metric(run.entry, run.alert, run.region)
    window = timedelta(seconds=spec.period_seconds * OUTAGE_PERIODS)
    value = latest_value(spec, aws=run.aws(run.region), window=window)
    if not beyond_outage(spec, value, threshold):
        run.timeline.add(
            Stage.RESOLVE,
            "no-maintenance",
            f"{spec.name} in {run.region} is {'no data' if value is None else value}, not beyond the "
            f"outage threshold {threshold}: no maintenance page",
        )
        return None
    why = f"{spec.name} in {run.region} still {value} (outage threshold {threshold}) after {len(tried)} tries"
    return Hypothesis.scored(
        [ScorePart(reason=why, value=0.5)],
        kind=HypothesisKind.MAINTENANCE,
        summary=f"{run.service} is down in {run.region} and nothing else helped; put up the maintenance page",
        evidence=[why, *(f"tried {r.kind}: {r.status.value}" for r in tried)],
        region=run.region,
    )


def _try(run: IncidentRun, hypothesis: Hypothesis, evidence: list[str]) -> MitigationRecord:
    tl = run.timeline
    tl.add(
        Stage.RESOLVE,
        "candidate",
        hypothesis.summary,
        evidence=hypothesis.evidence,
        score=hypothesis.explain(),
        score_parts=[p.model_dump() for p in hypothesis.score_parts],
    )
    try:
        planner = planner_for(hypothesis, run)
        record, applied = execute_plan(
            run,
            planner,
            label=hypothesis.summary,
            evidence=hypothesis.evidence + evidence,
            stage=Stage.RESOLVE,
        )
    except (ActionError, CatalogError) as e:
        tl.add(Stage.RESOLVE, "plan-failed", f"{hypothesis.kind}: {e}", error=str(e))
        return MitigationRecord(
            hypothesis=hypothesis.summary,
            kind=hypothesis.kind.value,
            tier="-",
            rule="-",
            status=MitigationStatus.FAILED,
            detail=str(e),
        )
    if not record.status.in_effect:
        return record
    if applied is not None and not verify_action(applied.plan):
        tl.add(Stage.VERIFY, "not-in-effect", f"{record.kind}: read-back does not show the change")
        return record.model_copy(update={"verified": False, "detail": "change not visible on read-back"})
    check = bake(run, applied.plan if applied is not None else None)
    record_joins(tl, Stage.VERIFY)  # a re-fire during the bake shows up next to its reading
    tl.add(
        Stage.VERIFY,
        "recovered" if check.healthy else "not-recovered",
        f"{check.metric} in {run.region} after {record.kind}: last {check.last_value} "
        f"({len(check.readings)} readings) -> {'recovered' if check.healthy else 'NOT recovered'}",
        readings=[r.model_dump(mode="json") for r in check.readings],
    )
    return record.model_copy(update={"verified": check.healthy})


def escalate(
    run: IncidentRun,
    hypotheses: list[Hypothesis],
    evidence: list[str],
    *,
    tried: list[MitigationRecord] | None = None,
) -> Escalation:
    """Hand the incident to a human with the evidence and a checklist; Firebreak does not act.

    What each candidate came to is part of the checklist, so a rollback that had no known-good
    release ("no record says what ran before ...") reaches the human with what is known; so are
    the steps of the hypotheses only a person can act on (a person's change to review, a failing
    dependency without a breaker).
    """
    candidates = [h.summary for h in hypotheses if h.kind.automated] or ["nothing"]
    return hand_over(
        run,
        title=f"{run.service} ({run.environment}) needs a human decision",
        steps=human_steps(hypotheses, tried or []),
        why=f"no safe automated fix (tried: {'; '.join(candidates)})",
        evidence=human_evidence(hypotheses, evidence),
    )


def hand_over(
    run: IncidentRun, *, title: str, steps: list[str], why: str, evidence: list[str]
) -> Escalation:
    """Give the incident to a person (the ``escalation.human`` kind, as the policy decides) with a
    checklist, and wait for their confirmation."""
    request = ActionRequest(
        kind="escalation.human",
        service=run.service,
        environment=run.environment,
        targets=[f"{run.service}/{run.environment}"],
        blast_radius=0.0,
    )
    decision = decide_now(run, request)
    run.timeline.add(
        Stage.RESOLVE,
        "decision",
        f"escalation.human: {decision.tier.value} ({decision.reason})",
        actor=decision.rule,
    )
    if decision.tier is Tier.DENIED:
        return Escalation.DENIED
    outcome = request_human_action(
        title=title,
        steps=steps,
        why=why,
        evidence=evidence,
        timeline=run.timeline,
        timeout_seconds=max(run.settings.bake_seconds * 4, 60),
        poll_seconds=run.settings.approval_poll_seconds,
        incident=run,
    )
    return _ESCALATION_OF[outcome.status]


def human_steps(hypotheses: list[Hypothesis], tried: list[MitigationRecord]) -> list[str]:
    """The escalation checklist: what only a person can act on (config_change and escalate
    hypotheses' steps), what each tried candidate came to, then the standing steps."""
    outcomes = [f"{r.kind}: {r.status.value}: {r.detail}" for r in tried if r.detail]
    return [
        *(step for h in hypotheses if not h.kind.automated for step in h.checklist),
        *(f"Not done by Firebreak ({line}): decide it by hand" for line in outcomes),
        "Read the evidence below and the snapshot artifact of this run",
        "Check the health of the service's dependencies (databases, queues, third-party APIs)",
        "Decide the business trade-off with the incident commander: degrade a feature, fail over, or wait",
        "If customers are affected, have the external status page updated (approval required)",
        "Record here what you did; Firebreak keeps it in the timeline and the postmortem",
    ]


def human_evidence(hypotheses: list[Hypothesis], evidence: list[str]) -> list[str]:
    """The incident's evidence, then what the person-only hypotheses saw (log signatures,
    alarms, a person's change), each line once."""
    seen = [line for h in hypotheses if not h.kind.automated for line in h.evidence]
    return list(dict.fromkeys([*evidence, *seen]))
