"""The incident run's record of alerts that joined it (see alerts/joins.py and flows/joins.py).

The receiver records a second alert of an open incident's service on the open run in Prefect;
the run itself, the timeline's only writer, copies each new join into its timeline at its stage
boundaries, so the timeline and the report show every alert the incident absorbed.

The run stays open (not final) while it writes its report, so a join can arrive after the last
stage's read: :func:`write_final_report` reads joins again after writing the report and, when
one arrived, records it and writes the report again. What it cannot see is a join recorded
between its last read and Prefect setting the run's final state (the time to return from the
flow: milliseconds, against the seconds a report with chart and uploads takes).
"""

from __future__ import annotations

import httpx
from prefect.exceptions import PrefectHTTPStatusError
from prefect.runtime import flow_run

from alerts.models import Alert
from flows.history import record_incident
from flows.joins import take_new_joins
from flows.report import IncidentReport
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline

JOINED_EVENT = "alert-joined"
MAX_REPORT_PASSES = 3  # a report re-written for late joins at most this many times in all


def record_joins(timeline: Timeline, stage: Stage) -> int:
    """Copy the joins not yet in the timeline into it; returns how many were new.

    Joins already recorded (also by an earlier attempt of this run) are not read again. Prefect
    being unreachable is recorded, not fatal: the joins stay on the run and the next stage
    boundary reads them.
    """
    run_id = flow_run.get_id()
    if run_id is None:
        return 0
    seen = {str(e.data["join_key"]) for e in timeline.events(JOINED_EVENT) if "join_key" in e.data}
    try:
        joins = take_new_joins(run_id, seen)
    except (httpx.HTTPError, PrefectHTTPStatusError) as e:
        timeline.add(stage, "joins-unreadable", f"could not read joined alerts from Prefect: {e}")
        return 0
    for join in joins:
        alert = join.alert
        timeline.add(
            stage,
            JOINED_EVENT,
            f"{alert.source} alert {alert.name} ({alert.region or 'no region'}, onset "
            f"{alert.starts_at:%H:%M:%S}) joined this incident",
            actor=alert.source,
            join_key=join.key,
            joined_at=join.joined_at.isoformat(),
            alert=alert.model_dump(mode="json"),
        )
    return len(joins)


def joined_alerts(timeline: Timeline) -> list[str]:
    """One line per joined alert, for the report."""
    return [e.message for e in timeline.events(JOINED_EVENT)]


def write_final_report(
    report: IncidentReport, timeline: Timeline, settings: RunSettings, alert: Alert
) -> IncidentReport:
    """Record the joins not yet read, the ``report`` entry and the incident's records; then read
    joins once more and, while new ones arrived meanwhile, record them and write the records
    again (``report-updated``), at most :data:`MAX_REPORT_PASSES` passes in all."""
    record_joins(timeline, Stage.REPORT)
    event = "report"
    for _ in range(MAX_REPORT_PASSES):
        report = report.model_copy(update={"joined_alerts": joined_alerts(timeline)})
        where = settings.incident_dir(report.incident_id) / "report.json"
        timeline.add(Stage.REPORT, event, f"{report.outcome.value}: {report.message}", report=str(where))
        report = record_incident(report, timeline, settings, alert)  # after the last entry: its chain head
        if record_joins(timeline, Stage.REPORT) == 0:
            break
        event = "report-updated"
    return report
