"""One attempt at a mitigation: plan, decide, apply (flows.execute), then bake what it should fix.

The bake watches the regions of the incident the mitigation is meant for (``watch``: region ->
the alert that named it): one region for a regional change, every region still broken for a
change that reaches all of them (a flag, a breaker). Which of them held is part of the answer,
so a change that fixed one region of two counts for that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts.models import Alert
from flows.diagnosis import Hypothesis
from flows.execute import execute_plan
from flows.incident_run import IncidentRun
from flows.mitigations import planner_for
from flows.report import MitigationRecord, MitigationStatus
from flows.scope import widen
from flows.timeline import Stage
from flows.verify import bake, regions_holding
from tasks.actions import verify_action
from tasks.catalog import CatalogError
from tasks.plan import ActionError


@dataclass(frozen=True)
class Attempt:
    """What became of one candidate, and the watched regions whose signal held after it."""

    record: MitigationRecord
    held: frozenset[str] = field(default_factory=frozenset)


def attempt(
    run: IncidentRun, hypothesis: Hypothesis, evidence: list[str], watch: dict[str, Alert]
) -> Attempt:
    """Try ``hypothesis``'s mitigation and, when it is in effect, bake the ``watch`` regions."""
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
        failed = MitigationRecord(
            hypothesis=hypothesis.summary,
            kind=hypothesis.kind.value,
            tier="-",
            rule="-",
            status=MitigationStatus.FAILED,
            detail=str(e),
        )
        return Attempt(failed)
    if not record.status.in_effect:
        return Attempt(record)
    if applied is not None and not verify_action(applied.plan):
        tl.add(Stage.VERIFY, "not-in-effect", f"{record.kind}: read-back does not show the change")
        return Attempt(
            record.model_copy(update={"verified": False, "detail": "change not visible on read-back"})
        )
    check = bake(run, applied.plan if applied is not None else None, watch)
    widen(run, Stage.VERIFY)  # a re-fire or another region's alert during the bake, next to its reading
    held = set(watch) if check.healthy else regions_holding(check, run.settings.healthy_checks) & set(watch)
    where = ", ".join(watch)
    tl.add(
        Stage.VERIFY,
        "recovered" if check.healthy else "not-recovered",
        f"{check.metric} in {where} after {record.kind}: last {check.last_value} "
        f"({len(check.readings)} readings) -> {'recovered' if check.healthy else 'NOT recovered'}"
        + ("" if check.healthy or not held else f" (held in {', '.join(sorted(held))})"),
        readings=[r.model_dump(mode="json") for r in check.readings],
        regions=sorted(held),
    )
    return Attempt(record.model_copy(update={"verified": check.healthy}), frozenset(held))
