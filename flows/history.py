"""The incident history: every incident's records, written at report time and read back.

An incident's records are ``report.json`` (the index: service, environment, alarm, severity,
hypotheses, mitigations with tiers and outcomes, people, times), ``timeline.json``,
``metrics.json`` (the triggering metric per region, for the chart), ``chart.png`` and
``postmortem.md``. They are written to the incident's directory and, when the catalog names an
evidence bucket, to S3 as well (the timeline with its chain head in the object's metadata).

Reading goes through flows.records (:class:`~flows.records.IncidentRecords`: a local incidents
directory, e.g. a drill's output, or the bucket).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from alerts.models import Alert
from flows.chart import IncidentMetrics, chart_spec, render_chart
from flows.diagnosis import Hypothesis
from flows.incident_run import IncidentRun
from flows.ranking import Adjustment, adjust, past_outcomes
from flows.records import METRICS, REPORT, TIMELINE, IncidentRecords, LocalRecords, entry_for, records_for
from flows.replay_records import DIAGNOSIS, EVIDENCE
from flows.report import CHART_FILE, IncidentReport, write_report
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline
from flows.trusted_records import timeline_verdict
from flows.verify import signal_metric
from policies import ApprovalStatus
from tasks.catalog import CatalogError, ServiceEnvironment
from tasks.incident_records import IncidentRecordError, read_series


class History(BaseModel):
    """Every readable report, oldest first, and what could not be read."""

    reports: list[IncidentReport] = Field(default_factory=list)
    unreadable: dict[str, str] = Field(default_factory=dict, description="incident id -> why")

    def select(
        self, *, service: str | None = None, since: datetime | None = None, drill: bool | None = None
    ) -> list[IncidentReport]:
        """Reports of ``service``, started at or after ``since``, of one kind (drill or real)."""
        return [
            r
            for r in self.reports
            if (service is None or r.service == service)
            and (since is None or r.started_at >= since)
            and (drill is None or r.drill == drill)
        ]

    def get(self, incident_id: str) -> IncidentReport | None:
        return next((r for r in self.reports if r.incident_id == incident_id), None)


def load_history(reader: IncidentRecords, *, signers: Sequence[str] | None = None) -> History:
    """Every incident's report (an incident without one, e.g. still running, is left out).

    With ``signers`` (the policy's ``record_signers``: what the ranking passes, since it steers
    the diagnosis), a report counts only when its incident's timeline is anchored by a head one
    of them signed (flows.trusted_records); the others go to ``unreadable`` with the reason.
    Without, every readable report is listed as stored (the listings people read)."""
    history = History()
    for incident_id in reader.incident_ids():
        body = reader.read(incident_id, REPORT)
        if body is None:
            continue
        try:
            report = IncidentReport.model_validate_json(body)
        except ValidationError as e:
            history.unreadable[incident_id] = f"{REPORT}: {e.error_count()} invalid field(s)"
            continue
        why = None if signers is None else _not_anchored(reader, incident_id, signers)
        if why is None:
            history.reports.append(report)
        else:
            history.unreadable[incident_id] = why
    history.reports.sort(key=lambda r: r.started_at)
    return history


def _not_anchored(reader: IncidentRecords, incident_id: str, signers: Sequence[str]) -> str | None:
    """Why the incident's timeline is not to be trusted, or None when it is anchored."""
    body = reader.read(incident_id, TIMELINE)
    if body is None:
        return f"{TIMELINE}: missing, so its report cannot be checked"
    try:
        timeline = Timeline.model_validate_json(body)
    except ValidationError as e:
        return f"{TIMELINE}: {e.error_count()} invalid field(s)"
    verdict = timeline_verdict(timeline, reader, signers)
    return None if verdict.intact else f"{TIMELINE}: {verdict.detail}"


def load_records(reader: IncidentRecords, incident_id: str) -> tuple[Timeline | None, IncidentMetrics | None]:
    """An incident's timeline and stored metrics, each None when not recorded."""
    timeline, metrics = reader.read(incident_id, TIMELINE), reader.read(incident_id, METRICS)
    return (
        Timeline.model_validate_json(timeline) if timeline else None,
        IncidentMetrics.model_validate_json(metrics) if metrics else None,
    )


def rank_with_history(
    run: IncidentRun, hypotheses: list[Hypothesis]
) -> tuple[list[Hypothesis], list[Adjustment]]:
    """Re-rank by past outcomes of the same service and alarm (flows.ranking), recording each
    adjustment in the timeline. An unreadable history changes nothing and is recorded."""
    try:
        history = load_history(records_for(run.settings, run.entry), signers=run.policy.record_signers)
    except (OSError, IncidentRecordError) as e:
        run.timeline.add(Stage.DIAGNOSE, "history-unreadable", f"past incidents not read: {e}", error=str(e))
        return hypotheses, []
    past = past_outcomes(
        history.reports, service=run.service, alarm=run.alert.name, drill=run.settings.drill,
        exclude=run.incident_id,
    )  # fmt: skip
    ranked, made = adjust(hypotheses, run.entry, past)
    for a in made:
        run.timeline.add(
            Stage.DIAGNOSE, "ranking", a.message(run.service, run.alert.name), actor="history",
            kind=a.kind, delta=a.delta, before=a.before, after=a.after,
            past=[p.model_dump(mode="json") for p in a.past],
        )  # fmt: skip
    return ranked, made


def approval_waits(timeline: Timeline) -> list[float]:
    """Seconds from each approval request to its final answer (approved, rejected) or timeout."""
    waits, asked = [], None
    for e in timeline.entries:
        if e.event == "approval-requested":
            asked = e.at
        final = e.event in {"approval-timeout", "approval-impossible"} or (
            e.event == "approval-answer" and e.data["verdict"]["status"] != ApprovalStatus.PENDING.value
        )
        if asked is not None and final:
            waits.append(round((e.at - asked).total_seconds(), 2))
            asked = None
    return waits


def record_incident(
    report: IncidentReport, timeline: Timeline, settings: RunSettings, alert: Alert
) -> IncidentReport:
    """Write the incident's records (report, postmortem, metrics, chart) locally and, when the
    catalog names an evidence bucket, to S3. Reading the metrics and uploading are best effort: a
    failure is recorded in the timeline and does not fail the incident."""
    directory = settings.incident_dir(report.incident_id)
    report = report.model_copy(
        update={
            "drill": settings.drill,
            "drill_speed": settings.drill_speed,
            "approval_waits_s": approval_waits(timeline),
        }
    )
    entry = entry_for(settings, alert)
    metrics = _capture(report, settings, alert, entry, timeline)
    if metrics is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / METRICS).write_text(metrics.model_dump_json())
        (directory / CHART_FILE).write_bytes(render_chart(chart_spec(report, timeline, metrics)).png)
        report = report.model_copy(update={"chart_path": str(directory / CHART_FILE)})
    report = write_report(report.model_copy(update={"chain_head": timeline.head}), timeline, directory)
    store = records_for(settings, entry)
    if not isinstance(store, LocalRecords):
        _share(report.incident_id, timeline, directory, store)
    return report


def _capture(
    report: IncidentReport, settings: RunSettings, alert: Alert, entry: ServiceEnvironment | None,
    timeline: Timeline,
) -> IncidentMetrics | None:  # fmt: skip
    """The alert's metric in every region, from a little before onset until now."""
    if entry is None or report.detected_at is None:
        return None
    end = datetime.now(report.started_at.tzinfo)
    try:
        specs = {region: signal_metric(entry, alert, region) for region in entry.regions}
        first = specs[alert.region or entry.primary_region]
        lead = timedelta(seconds=max(60, 10 * first.period_seconds))
        series = {
            region: read_series(spec, aws=settings.aws(region), start=report.started_at - lead, end=end)
            for region, spec in specs.items()
        }
    except (CatalogError, IncidentRecordError) as e:
        timeline.add(Stage.REPORT, "chart-not-drawn", f"no chart: {e}", error=str(e))
        return None
    return IncidentMetrics(
        metric=first.name, healthy_threshold=first.healthy_threshold, healthy_when=first.healthy_when,
        regions=series,
    )  # fmt: skip


def _share(incident_id: str, timeline: Timeline, directory: Path, store: IncidentRecords) -> None:
    """Every record of the incident's directory to the shared store, the timeline's head with it."""
    names: Sequence[str] = (TIMELINE, REPORT, METRICS, CHART_FILE, "postmortem.md", EVIDENCE, DIAGNOSIS)
    try:
        for name in names:
            path = directory / name
            if path.is_file():
                store.write(incident_id, name, path.read_bytes(), head=timeline.head)
    except IncidentRecordError as e:  # after the report: the local timeline keeps the reason
        why = f"incident records not stored in {store.where}: {e}"
        timeline.add(Stage.REPORT, "records-not-stored", why, error=str(e))
