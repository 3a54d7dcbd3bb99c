"""The incident-response flow: detect -> diagnose -> resolve -> verify -> report.

One flow run per incident (the receiver's idempotency key makes sure of that). Recovery
(undoing emergency measures) is a separate flow started by a person once the cause is fixed:
see flows/recover.py.
"""

from datetime import UTC, datetime

from prefect import State, flow
from prefect.states import Cancelled, Completed, Failed

from alerts.models import Alert, AlertStatus
from flows.detect import classify, confirm
from flows.diagnosis import Hypothesis, diagnose
from flows.doubt import confirmations, hand_over_doubt, second_opinion
from flows.evidence import gather_evidence
from flows.execute import guarded
from flows.foreign_timeline import foreign_alert, refuse_foreign_timeline
from flows.forms import similar_incident_lines
from flows.history import rank_with_history
from flows.incident_run import IncidentRun, incident_id_for
from flows.joined import write_final_report
from flows.own_changes import OWN_CHANGES_HORIZON, own_change_lines, own_changes_in
from flows.paging import page_unattended, resolve_pages
from flows.records import entry_for, open_shared_timeline, records_for
from flows.replay_records import DiagnosisInputs, keep_diagnosis_inputs
from flows.report import IncidentReport, Outcome, publish_artifacts
from flows.resolve import Escalation, resolve
from flows.scope import settle, widen
from flows.settings import RunSettings
from flows.status import status_update
from flows.status_page import status_page_update
from flows.status_runs import record_post_outcomes
from flows.timeline import Stage
from flows.watchdog import record_restart
from policies import Mode
from tasks.evidence import EvidenceBundle
from tasks.statuspage import IncidentStatus


@flow(name="incident-response", flow_run_name="{alert.name}", log_prints=True)
def incident_response(alert: Alert, settings: RunSettings) -> State:
    """Handle one alert end to end. The final state's message says what happened."""
    incident_id = incident_id_for(alert)
    timeline = open_shared_timeline(settings, incident_id, records_for(settings, entry_for(settings, alert)))
    recorded = foreign_alert(timeline, alert)
    if recorded is not None:
        return refuse_foreign_timeline(alert, recorded, settings, timeline)
    if timeline.entries:
        record_restart(timeline)
    timeline.add(
        Stage.DETECT,
        "alert",
        f"{alert.source} alert {alert.name} ({alert.status.value})",
        actor=alert.source,
        fingerprint=alert.fingerprint,
        alert=alert.model_dump(mode="json"),
    )
    report = IncidentReport(
        incident_id=incident_id,
        service=alert.service,
        environment=alert.environment,
        region=alert.region,
        alert_name=alert.name,
        outcome=Outcome.FAILED,
        message="",
        started_at=alert.starts_at,
        timeline_path=str(timeline.path),
    )
    run: IncidentRun | None = None
    try:
        if alert.status is AlertStatus.RESOLVED or not alert.routable:
            why = "alert is already resolved" if alert.routable else "alert names no catalogued service"
            report = report.model_copy(update={"outcome": Outcome.NOT_CONFIRMED, "message": why})
        else:
            run = IncidentRun.begin(alert, settings, timeline, stage=Stage.DETECT)
            report = settle(run, _handle(run, report))
    except Exception as e:  # noqa: BLE001 - the outermost catch-all: record, page, fail truthfully
        timeline.add(Stage.REPORT, "error", f"{type(e).__name__}: {e}", error=repr(e))
        report = report.model_copy(update={"outcome": Outcome.FAILED, "message": f"{type(e).__name__}: {e}"})
    if run is not None and report.outcome in UNATTENDED:
        page_unattended(run, f"{report.outcome.value}: {report.message}")
    report = write_final_report(report, timeline, settings, alert)
    publish_artifacts(report, timeline)
    return _final_state(report)


def _handle(run: IncidentRun, report: IncidentReport) -> IncidentReport:
    if run.mode is Mode.SHADOW:
        run.timeline.add(
            Stage.DETECT, "shadow", "shadow mode: every action is decided and recorded, none written"
        )
    with guarded(run):
        return _respond(run, report)


def _respond(run: IncidentRun, report: IncidentReport) -> IncidentReport:
    timeline = run.timeline
    check = confirm(run)
    detected = datetime.now(UTC)
    if check.healthy:  # only a healthy reading refutes an alert
        return report.model_copy(
            update={
                "outcome": Outcome.NOT_CONFIRMED,
                "detected_at": None,
                "message": f"not confirmed ({check.summary}): no action",
            }
        )
    if not check.confirmed:  # no data: doubt
        readings = second_opinion(run, check)
        if not confirmations(run, readings):
            return _doubted(run, report, hand_over_doubt(run, check, readings))
    classify(run, unhealthy_regions=1)
    widen(run, Stage.DETECT)
    status_update(run, Stage.DETECT, "Investigating: alert confirmed, collecting evidence.")
    status_page_update(run, Stage.DETECT, IncidentStatus.INVESTIGATING, unhealthy_regions=1)

    bundle, evidence_uri, hypotheses, evidence = _diagnose(run, keep_inputs=True)
    unhealthy = bundle.unhealthy_regions()
    widen(run, Stage.DIAGNOSE)
    resolution = resolve(run, hypotheses, evidence, rediagnose=lambda: _diagnose(run, keep_inputs=False)[2])
    if run.mode is Mode.SHADOW:
        outcome = Outcome.SHADOW
        message = (
            f"shadow mode: {len(resolution.would_apply)} action(s) would have been applied, none written"
        )
    else:
        outcome, message = _outcome(
            resolution.recovered_at is not None, resolution.halted, resolution.escalation
        )
    status_update(run, Stage.REPORT, f"{outcome.value}: {message}")
    if outcome is Outcome.MITIGATED:
        status_page_update(run, Stage.REPORT, IncidentStatus.RESOLVED, unhealthy_regions=len(unhealthy))
        resolve_pages(run, message)
    record_post_outcomes(timeline, Stage.REPORT, report=True)  # the status page posts decided so far
    applied = [e.at for e in timeline.events("applied")]
    return report.model_copy(
        update={
            "severity": run.severity.value,
            "outcome": outcome,
            "message": message,
            "detected_at": detected,
            "hypotheses": [h.kind.value for h in hypotheses],
            "mitigations": resolution.records,
            "regions": resolution.regions,
            "would_apply": resolution.would_apply,
            "first_mitigation_at": applied[0] if applied else None,
            "recovered_at": resolution.recovered_at,
            "evidence_uri": evidence_uri,
        }
    )


def _diagnose(
    run: IncidentRun, *, keep_inputs: bool
) -> tuple[EvidenceBundle, str | None, list[Hypothesis], list[str]]:
    """Gather the evidence and rank the hypotheses, each in the timeline; again when a region
    joined after the first diagnosis (``keep_inputs`` only the first time)."""
    bundle, evidence_uri = gather_evidence(run)
    classify(run, unhealthy_regions=len(bundle.unhealthy_regions()))
    own = own_changes_in(
        records_for(run.settings, run.entry),
        run.service,
        run.environment,
        signers=run.policy.record_signers,
        since=run.alert.starts_at - OWN_CHANGES_HORIZON,
    )
    hypotheses = diagnose(bundle, run.entry, own, alerted_region=run.region)
    inputs = DiagnosisInputs(entry=run.entry, own=own, alerted_region=run.region)
    if keep_inputs:  # for replay: the inputs of the incident's first diagnosis
        keep_diagnosis_inputs(run.settings.incident_dir(run.incident_id), bundle, inputs)
    hypotheses, adjustments = rank_with_history(run, hypotheses)
    for rank, h in enumerate(hypotheses, 1):
        run.timeline.add(
            Stage.DIAGNOSE,
            "hypothesis",
            f"#{rank} ({h.score}) {h.summary}",
            evidence=h.evidence,
            score=h.explain(),
            score_parts=[p.model_dump() for p in h.score_parts],
        )
    evidence = [
        f"unhealthy regions: {', '.join(bundle.unhealthy_regions()) or 'none'}",
        *(f"source not readable: {e.source} ({e.region})" for e in bundle.source_errors),
        *own_change_lines(bundle.changes, own),
        *similar_incident_lines(adjustments),
    ]
    if evidence_uri:
        evidence.append(f"evidence bundle: {evidence_uri}")
    return bundle, evidence_uri, hypotheses, evidence


def _doubted(run: IncidentRun, report: IncidentReport, escalation: Escalation) -> IncidentReport:
    """The report of an alert nothing could confirm or refute, handed to a person."""
    done = escalation is Escalation.DONE
    return report.model_copy(
        update={
            "severity": run.severity.value,
            "outcome": Outcome.ESCALATED if done else Outcome.NOT_MITIGATED,
            "message": "no data to confirm the alert: handed to a human, "
            + ("who confirmed the checklist done" if done else f"human escalation {escalation.value}"),
        }
    )


def _outcome(recovered: bool, halted: bool, escalation: Escalation | None) -> tuple[Outcome, str]:
    if recovered:
        return Outcome.MITIGATED, "mitigation applied and the signal recovered"
    if halted:
        return Outcome.HALTED, "kill switch is on: no further action taken"
    if escalation is Escalation.DONE:
        return Outcome.ESCALATED, "handed to a human, who confirmed the checklist done"
    asked = "not asked" if escalation is None else escalation.value
    return Outcome.NOT_MITIGATED, f"no mitigation recovered the signal; human escalation {asked}"


UNATTENDED = frozenset({Outcome.FAILED, Outcome.NOT_MITIGATED, Outcome.HALTED})
"""Outcomes with neither a verified mitigation nor a person's confirmation: they page."""


def _final_state(report: IncidentReport) -> State:
    text = f"{report.incident_id}: {report.outcome.value}: {report.message}"
    if report.outcome in {Outcome.MITIGATED, Outcome.NOT_CONFIRMED, Outcome.ESCALATED, Outcome.SHADOW}:
        return Completed(message=text)
    if report.outcome is Outcome.HALTED:
        return Cancelled(message=text)
    return Failed(message=text)
