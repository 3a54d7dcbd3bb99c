"""A run never continues a timeline that another alert began.

An incident id is derived from the alert's dedup key (flows.incident_run.incident_id_for), and
a run continues the timeline it finds under that id (a re-run after a crash). If the timeline
found was begun by an alert with another dedup key (a colliding id, or a record planted under
the id), continuing it would append to another incident's audit log and overwrite its report.
So the run refuses: it writes nothing to that incident's timeline or report, records the
refusal in a file of its own beside them (``refused-<hash>.json``), pages a human the usual
way (flows.paging) and fails.
"""

from __future__ import annotations

import hashlib

from prefect import State
from prefect.states import Failed
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts.models import Alert
from flows.incident_run import IncidentRun
from flows.paging import page_human
from flows.records import entry_for
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline

REFUSED = "timeline-refused"


class RecordedAlert(BaseModel):
    """What the timeline says about the alert that began it."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str = Field(description="Its fingerprint, or why none could be read.")
    dedup_key: str | None = Field(default=None, description="None when no alert could be read.")


def recorded_alert(timeline: Timeline) -> RecordedAlert | None:
    """The alert that began ``timeline`` (its first ``alert`` entry); None for a new timeline.
    A timeline with entries but no readable alert entry gets a RecordedAlert without a
    dedup key, which matches no alert (such a timeline is never continued)."""
    if not timeline.entries:
        return None
    entry = timeline.first("alert")
    if entry is None:
        return RecordedAlert(fingerprint="(no alert entry)")
    try:
        alert = Alert.model_validate(entry.data.get("alert"))
    except ValidationError:
        return RecordedAlert(fingerprint="(unreadable alert entry)")
    return RecordedAlert(fingerprint=alert.fingerprint, dedup_key=alert.dedup_key)


def foreign_alert(timeline: Timeline, alert: Alert) -> RecordedAlert | None:
    """The alert that began ``timeline`` when it is not ``alert`` (another dedup key), else None."""
    recorded = recorded_alert(timeline)
    return None if recorded is None or recorded.dedup_key == alert.dedup_key else recorded


def refuse_foreign_timeline(
    alert: Alert, recorded: RecordedAlert, settings: RunSettings, timeline: Timeline
) -> State:
    """Record the refusal in its own file, page a human when the catalog knows the alert's
    service (paging follows its policy), and fail."""
    key = hashlib.sha256(alert.dedup_key.encode()).hexdigest()[:32]
    refusal = Timeline(
        incident_id=f"{timeline.incident_id}-refused-{key[:12]}",
        path=timeline.path.with_name(f"refused-{key}.json"),
    )
    why = (
        f"{timeline.incident_id} was begun by alert fingerprint {recorded.fingerprint!r}, not by "
        f"{alert.fingerprint!r} (dedup key {alert.dedup_key}): its timeline is not continued"
    )
    refusal.add(
        Stage.DETECT, REFUSED, why, actor=alert.source, incident_id=timeline.incident_id,
        fingerprint=alert.fingerprint, recorded_fingerprint=recorded.fingerprint,
        alert=alert.model_dump(mode="json"),
    )  # fmt: skip
    if entry_for(settings, alert) is not None:
        run = IncidentRun.begin(alert, settings, refusal, stage=Stage.DETECT)
        page_human(run, Stage.DETECT, f"incident id clash, a human must look: {why}")
    return Failed(message=why)
