"""Escalation timers while a pause waits: page the next level after N unanswered minutes, and
send the internal status update at the cadence the severity promises.

Prefect refuses task runs while a flow run is paused, so the paused run cannot page anyone
itself. Before each pause the gate records a :class:`Waiting` on its own run (a flow run
input: incident, severity, since when, the escalation levels of its severity); the escalation
pass (:func:`escalation_pass`, run every minute by ``firebreak escalate``, outside any paused
run) reads the paused runs' current ``Waiting``, pages each level whose time has come, and
records each page as another input of that run. The page input's key is derived from the
pause and the level, and is created *before* the page is sent: a second pass or a second
replica gets 409 and sends nothing, so each level is paged once per step. The run copies
the pages into its timeline when it resumes (:func:`record_escalations`), so the timeline
keeps one writer and lists every page, and acknowledge/resolve then reach these levels too.

The first level is the flow's own (paged at once, flows/paging.py); this pass pages the rest.
Status updates follow the same claim-then-send rule, one per elapsed cadence period; whether
they may be sent at all (``notify.internal``) is decided by the flow when it announces the wait.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectAlreadyExists, PrefectHTTPStatusError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flows.incident_run import IncidentRun
from flows.paging import is_automated
from flows.timeline import Stage, Timeline
from policies import Severity
from policies.paging import PageLevel, due_levels
from tasks.aws import AwsTarget
from tasks.notify import NOTIFY_KIND, NotifyError, publish_status, render_status_update
from tasks.pagerduty import EventAction, PageEvent, PagerDutyError, PageSeverity, send_page

log = logging.getLogger(__name__)

WAIT_PREFIX = "firebreak-wait-"
PAGE_PREFIX = "firebreak-page-"
STATUS_PREFIX = "firebreak-status-"
FAILED_SUFFIX = "-failed"
MAX_READ = 200


class StatusCadence(BaseModel):
    """Where and how often the internal status update goes while the pause waits."""

    model_config = ConfigDict(frozen=True)

    topic_arn: str
    aws: AwsTarget
    every_minutes: int = Field(ge=1)


class Waiting(BaseModel):
    """What the escalation pass needs to know about one waiting pause."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    service: str
    environment: str
    severity: Severity
    pause_key: str
    since: AwareDatetime
    levels: list[PageLevel]
    why: str
    status: StatusCadence | None = Field(default=None, description="None: no updates while waiting.")


class StatusNote(BaseModel):
    """One status update the pass sent (or failed to send) while a pause waited."""

    model_config = ConfigDict(frozen=True)

    pause_key: str
    number: int
    at: AwareDatetime
    subject: str
    message_id: str | None = None
    error: str | None = None


class EscalationPage(BaseModel):
    """One page the pass sent (or failed to send) for one level of one pause."""

    model_config = ConfigDict(frozen=True)

    pause_key: str
    level: PageLevel
    at: AwareDatetime
    error: str | None = None


def _key(prefix: str, *parts: str) -> str:
    """A flow run input key: letters, digits and dashes, as Prefect requires."""
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def wait_key(pause_key: str) -> str:
    return _key(WAIT_PREFIX, pause_key)


def page_key(pause_key: str, level: str) -> str:
    return _key(PAGE_PREFIX, pause_key, level)


def announce_wait(flow_run_id: UUID | str, waiting: Waiting, timeline: Timeline, stage: Stage) -> None:
    """Record the pause about to start on its own run, for the escalation pass. Prefect being
    unreachable is recorded, not fatal: the pause still waits, only its timers are lost."""
    try:
        with get_client(sync_client=True) as client:
            client.create_flow_run_input(
                UUID(str(flow_run_id)), wait_key(waiting.pause_key), waiting.model_dump_json()
            )
    except (httpx.HTTPError, PrefectHTTPStatusError, ObjectAlreadyExists) as e:
        timeline.add(stage, "escalation-unavailable", f"escalation timers not set for this pause: {e}")


def cadence_for(incident: IncidentRun) -> StatusCadence | None:
    """The status cadence while ``incident`` waits: its topic, at its severity's cadence, if the
    catalog names a topic and the policy automates internal updates."""
    topic = incident.entry.sns_topic_arn
    allowed, _ = is_automated(
        incident.policy,
        NOTIFY_KIND,
        service=incident.service,
        environment=incident.environment,
        severity=incident.severity,
    )
    if topic is None or not allowed:
        return None
    every = incident.policy.severity.requirements[incident.severity].update_cadence_minutes
    aws = incident.aws(incident.entry.primary_region)
    return StatusCadence(topic_arn=topic, aws=aws, every_minutes=every)


def due_updates(waited: timedelta, every_minutes: int) -> list[int]:
    """The numbers of the status updates owed after ``waited``: one per full period. Pure.

    >>> due_updates(timedelta(minutes=31), 10)
    [1, 2, 3]
    """
    return list(range(1, int(waited / timedelta(minutes=every_minutes)) + 1))


def _claim(client: SyncPrefectClient, run_id: UUID, key: str, record: BaseModel) -> bool:
    """Create the record's input; False when it exists already (another pass sent it)."""
    try:
        client.create_flow_run_input(run_id, key, record.model_dump_json())
    except ObjectAlreadyExists:
        return False
    except PrefectHTTPStatusError as e:
        if e.response.status_code == 409:
            return False
        raise
    return True


def _event(waiting: Waiting, level: PageLevel) -> PageEvent:
    minutes = f"{level.after_minutes:g}"
    return PageEvent(
        routing_key_env=level.routing_key_env,
        action=EventAction.TRIGGER,
        dedup_key=waiting.incident_id,
        summary=f"[{waiting.severity.value}] {waiting.service} ({waiting.environment}): unanswered "
        f"for {minutes} min: {waiting.why}"[:1024],
        severity=PageSeverity.CRITICAL,
        details={"incident_id": waiting.incident_id, "escalation_level": level.name},
    )


def _current_wait(client: SyncPrefectClient, run_id: UUID, pause_key: str) -> Waiting | None:
    stored = client.filter_flow_run_input(run_id, key_prefix=wait_key(pause_key), limit=1, exclude_keys=set())
    if not stored:
        return None
    try:
        return Waiting.model_validate_json(stored[0].value)
    except ValidationError as e:
        log.warning("flow run %s: input %s is not a Waiting: %s", run_id, stored[0].key, e)
        return None


def escalation_pass(now: datetime | None = None) -> list[EscalationPage]:
    """Page every level now due on every paused incident run; returns the pages this pass made.

    ``now`` is for tests (a compressed clock); the loop passes nothing.
    """
    now = now or datetime.now(UTC)
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    made: list[EscalationPage] = []
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=paused, limit=MAX_READ):
            pause_key = run.state.state_details.pause_key if run.state else None
            if not pause_key:
                continue
            waiting = _current_wait(client, run.id, pause_key)
            if waiting is None:
                continue
            later = waiting.levels[1:]
            for level in due_levels(later, waited=now - waiting.since, paged=set()):
                page = EscalationPage(pause_key=waiting.pause_key, level=level, at=now)
                key = page_key(waiting.pause_key, level.name)
                if not _claim(client, run.id, key, page):
                    continue
                try:
                    send_page(_event(waiting, level))
                except PagerDutyError as e:
                    page = page.model_copy(update={"error": str(e)})
                    client.create_flow_run_input(run.id, key + FAILED_SUFFIX, page.model_dump_json())
                made.append(page)
            _send_updates(client, run.id, waiting, now)
    return made


def _send_updates(client: SyncPrefectClient, run_id: UUID, waiting: Waiting, now: datetime) -> None:
    cadence = waiting.status
    if cadence is None:
        return
    for number in due_updates(now - waiting.since, cadence.every_minutes):
        waited = number * cadence.every_minutes
        update = render_status_update(
            incident_id=waiting.incident_id,
            service=waiting.service,
            environment=waiting.environment,
            severity=waiting.severity.value,
            stage="waiting for a human",
            summary=f"still waiting after {waited} min: {waiting.why}",
            done=[],
            next_update_minutes=cadence.every_minutes,
        )
        note = StatusNote(pause_key=waiting.pause_key, number=number, at=now, subject=update.subject)
        key = _key(STATUS_PREFIX, waiting.pause_key, str(number))
        if not _claim(client, run_id, key, note):
            continue
        try:
            message_id = publish_status(
                topic_arn=cadence.topic_arn, subject=update.subject, message=update.message, aws=cadence.aws
            )
        except NotifyError as e:
            note = note.model_copy(update={"error": str(e)})
        else:
            note = note.model_copy(update={"message_id": message_id})
        client.create_flow_run_input(run_id, key + "-sent", note.model_dump_json())


def record_escalations(flow_run_id: UUID | str | None, timeline: Timeline, stage: Stage) -> None:
    """Copy the escalation pages made while this run was paused into its timeline (once each)."""
    if flow_run_id is None:
        return
    seen = {str(e.data["input_key"]) for e in timeline.entries if "input_key" in e.data}
    try:
        with get_client(sync_client=True) as client:
            stored = client.filter_flow_run_input(
                UUID(str(flow_run_id)), key_prefix=PAGE_PREFIX, limit=MAX_READ, exclude_keys=seen
            )
    except (httpx.HTTPError, PrefectHTTPStatusError) as e:
        timeline.add(stage, "escalations-unreadable", f"could not read escalation pages: {e}")
        return
    failed = {s.key.removesuffix(FAILED_SUFFIX): s.value for s in stored if s.key.endswith(FAILED_SUFFIX)}
    pages = [(s.key, EscalationPage.model_validate_json(s.value)) for s in stored if s.key not in failed
             and not s.key.endswith(FAILED_SUFFIX)]
    for key, page in sorted(pages, key=lambda kp: (kp[1].at, kp[1].level.after_minutes)):
        timeline.add(
            stage,
            "page-sent",
            f"trigger {page.level.name}: unanswered for {page.level.after_minutes:g} min",
            action=EventAction.TRIGGER.value,
            level=page.level.name,
            routing_key_env=page.level.routing_key_env,
            input_key=key,
            at_escalation=page.at.isoformat(),
        )
    for key, value in failed.items():
        page = EscalationPage.model_validate_json(value)
        message = f"trigger {page.level.name}: {page.error}"
        timeline.add(stage, "page-failed", message, level=page.level.name, input_key=key)
    _record_updates(UUID(str(flow_run_id)), timeline, stage, seen)


def _record_updates(run_id: UUID, timeline: Timeline, stage: Stage, seen: set[str]) -> None:
    """The status updates sent while waiting, as the run's own ``status-sent`` entries."""
    try:
        with get_client(sync_client=True) as client:
            stored = client.filter_flow_run_input(
                run_id, key_prefix=STATUS_PREFIX, limit=MAX_READ, exclude_keys=seen
            )
    except (httpx.HTTPError, PrefectHTTPStatusError) as e:
        timeline.add(stage, "escalations-unreadable", f"could not read status updates: {e}")
        return
    sent = [(StatusNote.model_validate_json(s.value), s.key) for s in stored if s.key.endswith("-sent")]
    for note, key in sorted(sent, key=lambda nk: nk[0].number):
        if note.error is not None:
            timeline.add(stage, "status-failed", f"status update while waiting: {note.error}", input_key=key)
        else:
            timeline.add(stage, "status-sent", note.subject, message_id=note.message_id, input_key=key)
