"""Diagnosis: ranked hypotheses from an evidence bundle. Pure: no AWS, no Prefect.

Each rule mirrors what an experienced on-call engineer checks, one module each (docs/diagnosis.md):

- flows.diagnosis.changes: a deploy in an unhealthy region -> rollback; a flag switched on ->
  disable_flag; a person's write to the service's resources -> config_change (a checklist);
- flows.diagnosis.regions: part of the service unhealthy, the rest fine -> shift_traffic;
- flows.diagnosis.load: saturation under a traffic rise -> scale_out, or throttle at the cap;
- flows.diagnosis.dependencies: a dependency failing -> open_breaker (or escalate naming it);
- flows.diagnosis.corroboration: alarms in ALARM and unhealthy targets move scores; the top log
  signatures join the evidence;
- flows.diagnosis.damage: with several regions unhealthy, a change that explains only some of
  them ranks below one that explains all;
- nothing matches -> a human decides, with the evidence in hand.

``maintenance`` is not among them: flows.resolve offers it after every candidate failed
(flows.diagnosis.outage). Firebreak's own changes (flows.own_changes) are never suspects: after
a rollback, Firebreak's deploy is the newest change before a second alert, and blaming it would
undo the fix. Every hypothesis lists the evidence that supports it and the parts of its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flows.diagnosis.changes import by_a_person, change_line, config_changes, flags, rollbacks
from flows.diagnosis.corroboration import corroborate
from flows.diagnosis.damage import weigh_damage
from flows.diagnosis.dependencies import dependency_rules
from flows.diagnosis.load import load_rules
from flows.diagnosis.model import Hypothesis, HypothesisKind, ScorePart
from flows.diagnosis.regions import shifts
from flows.own_changes import OwnChange, own_change
from tasks.catalog import ServiceEnvironment
from tasks.evidence import ChangeEvent, EvidenceBundle

__all__ = ["CHANGE_WINDOW", "GRACE_AFTER_ONSET", "Hypothesis", "HypothesisKind", "ScorePart", "diagnose"]

CHANGE_WINDOW = timedelta(minutes=30)
GRACE_AFTER_ONSET = timedelta(minutes=2)
ALERTED_REGION_PART = 0.05  # the alert's own region first, when two regions have the same cause


def _undoable(change: ChangeEvent) -> bool:
    """A change with a previous state that differs, known or not (``history`` says what is
    known): a creation (nothing before it) is not something a rollback or a flag flip can undo.
    CloudTrail writes are kept: flows.diagnosis.changes.by_a_person decides about them."""
    if change.kind == "cloudtrail":
        return True
    if change.before is None:
        return change.history is not None
    return change.before != change.after


def diagnose(
    bundle: EvidenceBundle,
    entry: ServiceEnvironment,
    own: Sequence[OwnChange] = (),
    alerted_region: str | None = None,
) -> list[Hypothesis]:
    """Ranked hypotheses, best first; a single ESCALATE hypothesis when nothing matches.

    ``own``: the changes Firebreak applied earlier (flows.own_changes); they are never suspects.
    ``alerted_region``: the region the alert names; its hypotheses get a small score part, so
    that with the same cause in two regions (a deploy to both) the run fixes the region it was
    alerted about first. The other region's alert joins the open incident and widens its scope
    (flows/scope.py): the same run then takes that region's hypotheses in its turn.
    """
    window = bundle.changes_between(bundle.onset - CHANGE_WINDOW, bundle.onset + GRACE_AFTER_ONSET)
    changes = [c for c in window if _undoable(c) and own_change(c, own) is None]
    bad = set(bundle.unhealthy_regions())
    suspects = rollbacks(bundle, changes, bad, own) + flags(bundle, changes, entry)
    explained = {h.region for h in suspects if h.region}
    if any(h.kind is HypothesisKind.DISABLE_FLAG for h in suspects):
        explained |= set(bundle.regions)  # a flag reaches every region
    found = (
        suspects
        + load_rules(bundle, entry, {r for r in explained if r})
        + dependency_rules(bundle, entry)
        + shifts(bundle, bad, entry)
    )
    people = by_a_person(changes)
    if not found:
        found = config_changes(bundle, people)
    people_lines = [change_line(c, bundle.onset) for c in people]
    if not found:
        gaps = sorted(bundle.failed_sources())
        found = [
            Hypothesis(
                kind=HypothesisKind.ESCALATE,
                score=0.0,
                summary="no recent change or isolated region explains the symptoms; a human must decide",
                evidence=[
                    f"unhealthy regions: {', '.join(sorted(bad)) or 'none'}",
                    f"recent changes: {len([c for c in changes if c.kind != 'cloudtrail'])}",
                    *([f"sources that could not be read: {', '.join(gaps)}"] if gaps else []),
                ],
            )
        ]
    ranked = [corroborate(h, bundle, bad) for h in found]
    ranked = [
        h.with_part(f"the alert names {h.region}", ALERTED_REGION_PART)
        if alerted_region is not None and h.region == alerted_region
        else h
        for h in ranked
    ]
    ranked = weigh_damage(ranked, bad)
    ranked = [
        h
        if h.kind is HypothesisKind.CONFIG_CHANGE
        else h.model_copy(update={"evidence": h.evidence + people_lines})
        for h in ranked
    ]
    return sorted(ranked, key=lambda h: h.score, reverse=True)
