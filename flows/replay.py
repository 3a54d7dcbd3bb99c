"""Replay: what another policy or catalog would have done to past incidents. Pure.

Diagnosis and policy decisions are pure functions, so each past incident is re-decided from
its records (flows.replay_records) and compared with what its report and timeline say happened:

1. **Diagnosis**: :func:`flows.diagnosis.diagnose` on the stored evidence bundle, with the
   catalog entry the incident ran with (or the new catalog's), its own earlier changes and the
   alerted region, then the ranking adjustments its timeline recorded (flows.ranking, applied
   with the same past outcomes); the top hypothesis then and now.
2. **Decisions**: every ``decision`` entry with a plan, decided again under the new policy
   (flows.replay_decisions): the tier then and now, guardrails that would now stop it,
   approvals that would now be needed.

Plans are replayed as recorded: a new catalog changes the diagnosis, not the plans (planning
reads live state, which is gone). A hypothesis that is new at the top was not planned then, so
no decision of it is replayed; the incident's ``notes`` say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from flows.diagnosis import diagnose
from flows.ranking import PastOutcome, adjust
from flows.replay_decisions import ActionReplay, ChangeKind, ReplayError, replay_decision
from flows.replay_records import IncidentRecordsForReplay
from flows.timeline import Timeline
from policies import Policy
from tasks.catalog import Catalog, CatalogError, ServiceEnvironment


class IncidentReplay(BaseModel):
    """One incident, then and now."""

    incident_id: str
    service: str | None
    environment: str | None
    alarm: str
    drill: bool
    started_at: datetime
    top_then: str | None
    top_now: str | None = Field(default=None, description="None when the diagnosis could not be replayed.")
    ranking_now: list[str] | None = None
    actions: list[ActionReplay] = Field(default_factory=list)
    lacks: list[str] = Field(default_factory=list, description="What the records lack, precisely.")
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changes(self) -> list[ChangeKind]:
        top = (
            [ChangeKind.TOP_HYPOTHESIS] if self.top_now is not None and self.top_now != self.top_then else []
        )
        return top + [c for a in self.actions for c in a.changes]


class ReplaySummary(BaseModel):
    incidents: int
    changed: int = Field(description="Incidents with at least one change.")
    incomplete: int = Field(description="Incidents whose records lack something replay needs.")
    changes: dict[str, int] = Field(description="Change kind (tier changes as 'tier A -> B') -> count.")


def replay_incident(
    records: IncidentRecordsForReplay, policy: Policy, catalog: Catalog | None = None
) -> IncidentReplay:
    """The incident re-diagnosed (with ``catalog``'s entry when given, else the recorded one)
    and every recorded decision re-decided under ``policy``."""
    report = records.report
    replay = IncidentReplay(
        incident_id=report.incident_id, service=report.service, environment=report.environment,
        alarm=report.alert_name, drill=report.drill, started_at=report.started_at,
        top_then=report.hypotheses[0] if report.hypotheses else None, lacks=list(records.lacks),
    )  # fmt: skip
    _rediagnose(records, catalog, replay)
    if records.timeline is None:
        return replay
    tiers = {m.plan_hash: m.tier for m in report.mitigations if m.plan_hash}
    for entry in records.timeline.events("decision"):
        if "plan" not in entry.data:  # escalation.human: a hand-over, not a mitigation
            continue
        try:
            replay.actions.append(replay_decision(
                entry, policy, severity=report.severity, tier_then=tiers.get(entry.data["plan"].get("hash")),
            ))  # fmt: skip
        except ReplayError as e:
            replay.lacks.append(str(e))
    if replay.top_now is not None and replay.top_now != replay.top_then:
        replay.notes.append(f"{replay.top_now} was not planned then: its action is not re-decided")
    return replay


def _rediagnose(records: IncidentRecordsForReplay, catalog: Catalog | None, replay: IncidentReplay) -> None:
    entry = _entry(records, catalog, replay)
    if records.bundle is None or entry is None:
        return
    inputs = records.inputs
    own = inputs.own if inputs is not None else []
    region = inputs.alerted_region if inputs is not None else records.report.region
    if inputs is None:
        replay.notes.append("own earlier changes unknown (no diagnosis.json): taken as none")
    hypotheses = diagnose(records.bundle, entry, own, alerted_region=region)
    ranked, _ = adjust(hypotheses, entry, _past(records.timeline))
    replay.ranking_now = [h.kind.value for h in ranked]
    replay.top_now = replay.ranking_now[0] if ranked else None


def _entry(
    records: IncidentRecordsForReplay, catalog: Catalog | None, replay: IncidentReplay
) -> ServiceEnvironment | None:
    """The new catalog's entry for the incident's service, else the one it ran with."""
    if catalog is None:
        return records.inputs.entry if records.inputs is not None else None
    try:
        return catalog.entry(records.report.service or "", records.report.environment or "")
    except CatalogError as e:
        replay.lacks.append(f"the new catalog: {e}")
        return None


def _past(timeline: Timeline | None) -> dict[str, list[PastOutcome]]:
    """The past outcomes behind each ranking adjustment the timeline recorded."""
    if timeline is None:
        return {}
    return {
        e.data["kind"]: [PastOutcome.model_validate(p) for p in e.data.get("past", [])]
        for e in timeline.events("ranking")
    }


def summarize(replays: Sequence[IncidentReplay]) -> ReplaySummary:
    """Counts of incidents, changed incidents, incomplete records and changes by kind."""
    counts: Counter[str] = Counter()
    for r in replays:
        counts.update(c.value for c in r.changes if c is not ChangeKind.TIER)
        counts.update(
            f"tier {a.tier_then} -> {a.tier_now.value}" for a in r.actions if ChangeKind.TIER in a.changes
        )
    return ReplaySummary(
        incidents=len(replays),
        changed=sum(bool(r.changes) for r in replays),
        incomplete=sum(bool(r.lacks) for r in replays),
        changes=dict(sorted(counts.items())),
    )
