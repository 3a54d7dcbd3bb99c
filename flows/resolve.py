"""Resolve and verify: try the ranked mitigations one at a time, bake each, stop when it holds,
in every region of the incident's scope (its own alert's and each joined alert's region).

Never chains automation blindly: each mitigation must be followed by a bake of the triggering
signal; only if it did not recover does the next candidate get its turn. When every candidate
failed, was denied or rejected and the key metric is still beyond the catalog's
``outage_threshold``, the maintenance page is the last candidate (2 approvers by default).
When none is left (or the first hypothesis is "nobody knows"), a human gets the evidence and a
checklist, which names what config_change and escalate hypotheses found (a person's change, a
dependency without a breaker).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from alerts.models import Alert
from flows.attempt import Attempt, attempt
from flows.diagnosis import Hypothesis, HypothesisKind, ScorePart
from flows.diagnosis.outage import beyond_outage
from flows.execute import decide_now
from flows.gate import GateStatus, request_human_action
from flows.incident_run import IncidentRun
from flows.killswitch import kill_switch_on
from flows.region_outcome import RegionOutcome, RegionStatus
from flows.report import MitigationRecord, MitigationStatus
from flows.scope import affected_regions, alert_names, widen
from flows.timeline import Stage
from flows.verify import bake, regions_holding, signal_metric
from policies import ActionRequest, Mode, Tier, TimeoutOutcome
from tasks.catalog_check import unverifiable_shift
from tasks.metrics import latest_value

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
    recovered_at: datetime | None = Field(default=None, description="When the last affected region held.")
    halted: bool = False
    escalation: Escalation | None = Field(default=None, description="None: nobody was asked.")
    recovered: dict[str, datetime] = Field(default_factory=dict, description="Region -> when it held.")
    done: dict[str, list[str]] = Field(
        default_factory=dict, description="Region -> '<kind>: <status>' of each candidate tried for it."
    )
    regions: list[RegionOutcome] = Field(
        default_factory=list, description="Every affected region, at the end."
    )
    not_offered: list[str] = Field(
        default_factory=list, description="Candidates the catalog cannot verify, and why (never planned)."
    )


def resolve(
    run: IncidentRun,
    hypotheses: list[Hypothesis],
    evidence: list[str],
    rediagnose: Callable[[], list[Hypothesis]] | None = None,
) -> Resolution:
    """Mitigate every region of the incident's scope (flows.scope), one region at a time, and
    escalate what did not recover.

    Each region's turn tries its candidates in rank order until its signal holds: hypotheses
    about that region, or about every region (a flag, a breaker); the alert's own region also
    takes the candidates about regions outside the scope, as before there was a scope. At most
    ``max_mitigations`` candidates are planned and decided per region; one that cannot be
    planned is recorded and does not count; the maintenance page is the region's last resort.
    A region that joined after the diagnosis is diagnosed again (``rediagnose``) before its
    turn. With every region recovered and more than one in scope, all of them are watched once
    more together; the incident is recovered only when all of them hold. Otherwise a person
    gets the incident, with the regions not recovered in the evidence.

    In shadow mode every candidate is decided and recorded as would-apply, in rank order, and
    nobody is asked or paged.
    """
    result = Resolution()
    tried: set[tuple[object, ...]] = set()
    diagnosed = set(affected_regions(run))
    visited: list[str] = []
    unanswered = False
    while not unanswered and not result.halted:
        region = _next_region(run, result, visited)
        if region is None:
            _verify_scope(run, result)
            if _next_region(run, result, visited) is None:
                break
            continue
        visited.append(region)
        if region not in diagnosed and rediagnose is not None:
            hypotheses = rediagnose()
            diagnosed |= set(affected_regions(run))
        unanswered = _resolve_region(run, region, hypotheses, evidence, result, tried)
    scope = affected_regions(run)
    missing = [r for r in scope if r not in result.recovered]
    if not missing:
        result.recovered_at = max(result.recovered.values())
    elif not result.halted:
        _hand_over_the_rest(run, hypotheses, evidence, result, missing)
    result.regions = _outcomes(run, result)
    return result


def _hand_over_the_rest(
    run: IncidentRun,
    hypotheses: list[Hypothesis],
    evidence: list[str],
    result: Resolution,
    missing: list[str],
) -> None:
    """A person gets the incident, with the regions not recovered (shadow mode: recorded only)."""
    if run.mode is Mode.SHADOW:
        run.timeline.add(Stage.RESOLVE, "would-escalate", "[shadow] would hand the incident to a human")
        return
    lines = [*evidence, f"regions not recovered: {', '.join(missing)}", *result.not_offered]
    result.escalation = escalate(run, hypotheses, lines, tried=result.records)
    result.halted = result.escalation is Escalation.DENIED and kill_switch_on()


def _next_region(run: IncidentRun, result: Resolution, visited: list[str]) -> str | None:
    """Read new joins; the first region of the scope neither visited nor recovered."""
    widen(run, Stage.RESOLVE)
    return next((r for r in affected_regions(run) if r not in visited and r not in result.recovered), None)


def _candidate_key(h: Hypothesis) -> tuple[object, ...]:
    return (h.kind, h.region, h.mechanism, h.flag, h.dependency, tuple(sorted(h.weights.items())))


def _for_region(h: Hypothesis, region: str, first: bool, others: set[str]) -> bool:
    """A candidate of ``region``'s turn: about it, about every region, or (the alert's own
    region's turn) about a region outside the scope."""
    return h.kind.automated and (h.region in {None, region} or (first and h.region not in others))


def _resolve_region(
    run: IncidentRun,
    region: str,
    hypotheses: list[Hypothesis],
    evidence: list[str],
    result: Resolution,
    tried: set[tuple[object, ...]],
) -> bool:
    """One region's turn; True when an unanswered approval sends the incident to a person."""
    scope = affected_regions(run)
    others = set(scope) - {region}
    planned = 0
    records: list[MitigationRecord] = []
    for hypothesis in hypotheses:
        key = _candidate_key(hypothesis)
        if key in tried or not _for_region(hypothesis, region, region == run.region, others):
            continue
        if planned >= run.settings.max_mitigations:
            break
        tried.add(key)
        if _not_offered(run, hypothesis, region, result):
            continue
        watch = _watched(scope, region, hypothesis, result)
        outcome = attempt(run, hypothesis, evidence, watch)
        record = outcome.record
        planned += record.plan_hash is not None  # a candidate that could not even be planned changed nothing
        _note(result, watch, record)
        if record.status is MitigationStatus.WOULD_APPLY:
            result.would_apply.append(record)
            continue
        records.append(record)
        if _settled(result, region, outcome):
            return False
        if record.status is MitigationStatus.TIMED_OUT and record.on_timeout == TimeoutOutcome.ESCALATE.value:
            return True  # the policy says an unanswered approval goes to a human, not to the next fix
    last = maintenance_candidate(run, records, region=region, alert=scope[region])
    if last is not None:
        outcome = attempt(run, last, evidence, {region: scope[region]})
        _note(result, {region: scope[region]}, outcome.record)
        _settled(result, region, outcome)
    return False


def _not_offered(run: IncidentRun, hypothesis: Hypothesis, region: str, result: Resolution) -> bool:
    """A candidate whose mitigation the catalog cannot verify (tasks.catalog_check) is not
    planned, so nobody approves a change that would fail after it is made: recorded, skipped."""
    if hypothesis.kind is not HypothesisKind.SHIFT_TRAFFIC:
        return False
    why = unverifiable_shift(run.entry, hypothesis.region or region)
    if why is None:
        return False
    line = f"not offered: {hypothesis.summary}: {why} (firebreak catalog check)"
    run.timeline.add(Stage.RESOLVE, "not-offered", line, kind=hypothesis.kind.value)
    result.not_offered.append(line)
    return True


def _watched(
    scope: dict[str, Alert], region: str, hypothesis: Hypothesis, result: Resolution
) -> dict[str, Alert]:
    """The regions a candidate is baked in: its turn's region, and for a change that reaches
    every region (no region of its own) every region of the scope not yet recovered."""
    if hypothesis.region is not None:
        return {region: scope[region]}
    return {region: scope[region]} | {r: a for r, a in scope.items() if r not in result.recovered}


def _note(result: Resolution, watch: dict[str, Alert], record: MitigationRecord) -> None:
    for region in watch:
        result.done.setdefault(region, []).append(f"{record.kind}: {record.status.value}")


def _settled(result: Resolution, region: str, outcome: Attempt) -> bool:
    """Record a real attempt; True when the region's turn stops here (halted, or it recovered)."""
    record = outcome.record
    result.records.append(record)
    if record.status is MitigationStatus.HALTED or (
        record.status is MitigationStatus.DENIED and kill_switch_on()
    ):
        result.halted = True
        return True
    now = datetime.now(UTC)
    for held in outcome.held:
        result.recovered.setdefault(held, now)
    return region in result.recovered


def _verify_scope(run: IncidentRun, result: Resolution) -> None:
    """With every region of a wider scope recovered, watch them all together once more: a
    region that no longer holds is not recovered."""
    scope = affected_regions(run)
    if len(scope) < 2 or any(r not in result.recovered for r in scope) or run.mode is Mode.SHADOW:
        return
    check = bake(run, None, scope)
    held = set(scope) if check.healthy else regions_holding(check, run.settings.healthy_checks)
    for region in set(scope) - held:
        del result.recovered[region]
    run.timeline.add(
        Stage.VERIFY,
        "scope-verified" if check.healthy else "scope-not-verified",
        f"every affected region watched together: {check.summary}"
        + ("" if check.healthy else f"; not holding: {', '.join(sorted(set(scope) - held))}"),
        readings=[r.model_dump(mode="json") for r in check.readings],
    )


def _outcomes(run: IncidentRun, result: Resolution) -> list[RegionOutcome]:
    confirmed = result.escalation is Escalation.DONE
    return [
        RegionOutcome(
            region=region,
            alerts=names,
            done=result.done.get(region, []),
            status=RegionStatus.RECOVERED
            if region in result.recovered
            else RegionStatus.ESCALATED
            if confirmed
            else RegionStatus.NOT_RECOVERED,
        )
        for region, names in alert_names(run).items()
    ]


def maintenance_candidate(
    run: IncidentRun,
    tried: list[MitigationRecord],
    *,
    region: str | None = None,
    alert: Alert | None = None,
) -> Hypothesis | None:
    """The maintenance page for ``region`` (default: the alert's), when candidates were tried
    for real there and none held, the catalog has an ``outage_threshold`` and an ALB in that
    region, and the key metric (of ``alert``, the one that named the region) is still beyond
    the threshold. Not in shadow mode (nothing was tried for real there), and not after an
    unanswered approval the policy sends to a human. It is planned beyond ``max_mitigations``:
    it is the last resort, and the policy asks two people for it by default."""
    where = region or run.region
    threshold = run.entry.outage_threshold
    if not tried or threshold is None or run.entry.region(where).alb is None:
        return None
    spec = signal_metric(run.entry, alert or run.alert, where)
    window = timedelta(seconds=spec.period_seconds * OUTAGE_PERIODS)
    value = latest_value(spec, aws=run.aws(where), window=window)
    if not beyond_outage(spec, value, threshold):
        run.timeline.add(
            Stage.RESOLVE,
            "no-maintenance",
            f"{spec.name} in {where} is {'no data' if value is None else value}, not beyond the "
            f"outage threshold {threshold}: no maintenance page",
        )
        return None
    why = f"{spec.name} in {where} still {value} (outage threshold {threshold}) after {len(tried)} tries"
    return Hypothesis.scored(
        [ScorePart(reason=why, value=0.5)],
        kind=HypothesisKind.MAINTENANCE,
        summary=f"{run.service} is down in {where} and nothing else helped; put up the maintenance page",
        evidence=[why, *(f"tried {r.kind}: {r.status.value}" for r in tried)],
        region=where,
    )


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


def hand_over(run: IncidentRun, *, title: str, steps: list[str], why: str, evidence: list[str]) -> Escalation:
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
