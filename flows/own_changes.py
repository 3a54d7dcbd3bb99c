"""Firebreak's own changes, so that it never blames them (and knows what it saw running).

After a rollback, the change Firebreak made is "a deploy minutes before onset"; a second alert
for the same service must not act on it (it would "roll back" to the bad build). Firebreak
recognises its own writes two ways, and the diagnosis (pure) never turns a match into a
hypothesis:

- by its **incident records**: every ``applied`` timeline entry keeps the plan, the AWS request
  ids and the state read back; a change whose CloudTrail call has one of those request ids,
  or (without a CloudTrail call) that made live exactly what an applied plan set in that region
  no earlier than :data:`CLOCK_SKEW` before the change, is Firebreak's;
- by the **caller** CloudTrail recorded: ``firebreak`` in the user agent (``tasks.aws`` adds it
  to every client) or an assumed-role session named ``firebreak``.

The same records say what Firebreak saw live before and after each change it made: the last
source of "what ran before" (tasks.deploy_history). Reading them sits behind one small
interface, :class:`flows.records.IncidentRecords`, so every host reads the same records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flows.records import TIMELINE, IncidentRecords
from flows.timeline import Timeline
from flows.trusted_records import timeline_verdict
from tasks.aws import USER_AGENT_MARK
from tasks.deploy_history import same_task_definition  # also right for plain version numbers
from tasks.evidence import ChangeEvent, WriteEvent
from tasks.incident_records import IncidentRecordError

log = logging.getLogger(__name__)

FIREBREAK_MARK = USER_AGENT_MARK  # in every client's User-Agent and Firebreak's role session name
CLOCK_SKEW = timedelta(minutes=2)
RELEASE_KINDS = {
    "rollback.ecs": "ecs.deploy",
    "rollback.lambda": "lambda.alias",
    "rollback.asg": "asg.launch_template",
}


class OwnChange(BaseModel):
    """One change Firebreak applied, as its incident timeline recorded it."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    at: AwareDatetime
    kind: str = Field(description="Action kind, e.g. rollback.ecs.")
    service: str
    environment: str
    plan_hash: str
    request_ids: list[str] = Field(default_factory=list)
    before: dict[str, Any] = Field(default_factory=dict, description="Plan before, per region for rollbacks.")
    after: dict[str, Any] = Field(default_factory=dict, description="Plan after.")

    def describe(self) -> str:
        return (
            f"{self.kind} plan {self.plan_hash} applied by {self.incident_id} at {self.at:%Y-%m-%d %H:%M:%S}Z"
        )

    def released(self, region: str, which: str = "after") -> str | None:
        """The release this change set (or found, ``which="before"``) in ``region``, if a rollback."""
        value = (self.after if which == "after" else self.before).get(region)
        if isinstance(value, str):
            return value  # ECS: a task definition ARN
        if isinstance(value, dict) and "version" in value:
            return str(value["version"])  # ASG
        if isinstance(value, dict) and value:
            return str(max(value, key=lambda v: value[v]))  # Lambda: {version: percent}
        return None


def own_changes_in(
    records: IncidentRecords,
    service: str,
    environment: str,
    *,
    signers: Sequence[str],
    since: datetime | None = None,
) -> list[OwnChange]:
    """Every change Firebreak applied to ``service``/``environment``, oldest first, from the
    incident records every host shares (the evidence bucket, else the local directory).

    Only timelines anchored by a head that one of ``signers`` (the policy's ``record_signers``)
    signed are used (flows.trusted_records): a forged record must not make a real change look
    like Firebreak's own. A timeline that cannot be read or does not verify is logged and
    skipped, and an unreadable store yields what was read before it: the CloudTrail caller
    identity still marks Firebreak's own writes.

    ``since`` bounds the scan by time: an incident whose onset (in its id, ``INC-<YYYYMMDD-HHMM>-``)
    is before it is not read (an id without an onset is). Without it every incident's timeline,
    report and stored head are read: a cost that grows with the record count."""
    found: list[OwnChange] = []
    try:
        for incident_id in records.incident_ids():
            onset = incident_onset(incident_id)
            if since is not None and onset is not None and onset < since:
                continue
            body = records.read(incident_id, TIMELINE)
            if body is None:
                continue
            try:
                timeline = Timeline.model_validate_json(body)
            except ValidationError as e:
                log.warning("incident record %s/%s unreadable: %s", records.where, incident_id, e)
                continue
            verdict = timeline_verdict(timeline, records, signers)
            if not verdict.intact:
                log.warning("incident record %s/%s not used: %s", records.where, incident_id, verdict.detail)
                continue
            found += [c for c in _applied(timeline) if (c.service, c.environment) == (service, environment)]
    except IncidentRecordError as e:
        log.warning("incident records in %s unreadable: %s", records.where, e)
    return sorted(found, key=lambda c: c.at)


def incident_onset(incident_id: str) -> datetime | None:
    """The onset minute an incident id carries (``INC-20261207-0900-...``, a runbook's
    ``RUN-20261207-090012-rollback``), or None.

    >>> incident_onset("INC-20261207-0900-0f2a")
    datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.timezone.utc)
    """
    found = _ONSET.match(incident_id)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y%m%d-%H%M").replace(tzinfo=UTC)


OWN_CHANGES_HORIZON = timedelta(days=7)
"""How far before an alert's onset the incident run reads Firebreak's own changes: far longer
than the diagnosis's change window (30 minutes) and than an incident stays open (hours). What
Firebreak saw running only in an older incident is not used as "what ran before" (the release
history and CloudTrail still say it when they can)."""

_ONSET = re.compile(r"^(?:INC|RUN)-(\d{8}-\d{4})")  # a runbook's RUN-<YYYYMMDD-HHMMSS>-<what> too


def _applied(timeline: Timeline) -> Iterable[OwnChange]:
    for entry in timeline.events("applied"):
        plan = entry.data.get("plan") or {}
        if not plan.get("kind"):
            continue
        yield OwnChange(
            incident_id=timeline.incident_id,
            at=entry.at,
            kind=plan["kind"],
            service=plan.get("service", ""),
            environment=plan.get("environment", ""),
            plan_hash=entry.data.get("plan_hash") or plan.get("hash", ""),
            # A region step of several calls (ASG: version, then refresh) joins its ids.
            request_ids=[i for rid in entry.data.get("request_ids") or [] for i in str(rid).split(", ")],
            before=plan.get("before") or {},
            after=plan.get("after") or {},
        )


def is_firebreak_call(write: WriteEvent) -> bool:
    """CloudTrail says Firebreak made the call: its user agent mark or its role session name."""
    return FIREBREAK_MARK in write.user_agent.split() or write.caller.endswith(f"/{FIREBREAK_MARK}")


def own_change(change: ChangeEvent, own: Iterable[OwnChange]) -> str | None:
    """Why ``change`` is Firebreak's own (a line for the evidence), or None when it is not."""
    candidates = [c for c in own if RELEASE_KINDS.get(c.kind) == change.kind]
    mine = f"Firebreak's own change: {change.summary}"
    write = change.write
    if write is not None:
        by_id = next((c for c in candidates if write.request_id in c.request_ids), None)
        if by_id is not None:
            return f"{mine} ({by_id.describe()}, request {write.request_id})"
        return f"{mine} ({write.event_name} by {write.caller})" if is_firebreak_call(write) else None
    for c in candidates:
        released = c.released(change.region)
        if (
            released
            and change.after
            and same_task_definition(released, change.after)
            and c.at >= change.at - CLOCK_SKEW
        ):
            return f"{mine} ({c.describe()} set {released})"
    return None


def own_change_lines(changes: Iterable[ChangeEvent], own: Sequence[OwnChange]) -> list[str]:
    """The evidence lines of the changes that are Firebreak's own ("Firebreak's own change: ...")."""
    return [line for change in changes if (line := own_change(change, own)) is not None]


def observed(own: Iterable[OwnChange], change: ChangeEvent) -> list[tuple[datetime, str, str]]:
    """What Firebreak's records saw live in the change's region, newest first, for
    :func:`tasks.deploy_history.previous_release`: each plan's after, then its before (both
    dated when the plan was applied)."""
    seen: list[tuple[datetime, str, str]] = []
    for c in own:
        if RELEASE_KINDS.get(c.kind) != change.kind:
            continue
        for which in ("after", "before"):  # same time: the after is the newer (stable sort)
            value = c.released(change.region, which)
            if value is not None:
                seen.append((c.at, value, f"{which} of {c.describe()}"))
    return sorted(seen, key=lambda s: s[0], reverse=True)
