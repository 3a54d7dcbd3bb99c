"""Diagnosis: ranked hypotheses from an evidence bundle. Pure: no AWS, no Prefect.

Each rule mirrors what an experienced on-call engineer checks first:

- a deploy or alias change shortly before onset, in a region that is unhealthy -> roll it back
  to what ran before it (the change's ``before``, from the resource's history; else what
  Firebreak's own records saw live; else a rollback hypothesis without a target, which the
  planner refuses with what is known, so a human gets it);
- a feature flag switched on shortly before onset -> switch it off;
- some regions unhealthy while others are fine -> shift traffic away from the bad ones;
- nothing matches -> a human decides, with the evidence in hand.

Firebreak's own changes (flows.own_changes) are never suspects: after a rollback, Firebreak's
deploy is the newest change before a second alert, and blaming it would undo the fix.

Every hypothesis lists the evidence that supports it, which is shown to approvers and kept in
the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from flows.own_changes import OwnChange, observed, own_change
from tasks.catalog import ServiceEnvironment
from tasks.deploy_history import previous_release, same_task_definition
from tasks.evidence import ChangeEvent, EvidenceBundle, PreviousRelease

CHANGE_WINDOW = timedelta(minutes=30)
GRACE_AFTER_ONSET = timedelta(minutes=2)
_ROLLBACK_MECHANISM = {"ecs.deploy": "ecs", "lambda.alias": "lambda", "asg.launch_template": "asg"}


class HypothesisKind(StrEnum):
    ROLLBACK = "rollback"
    DISABLE_FLAG = "disable_flag"
    SHIFT_TRAFFIC = "shift_traffic"
    SCALE_OUT = "scale_out"
    OPEN_BREAKER = "open_breaker"
    THROTTLE = "throttle"
    MAINTENANCE = "maintenance"
    CONFIG_CHANGE = "config_change"
    ESCALATE = "escalate"


class Hypothesis(BaseModel):
    """A candidate cause and the mitigation it implies."""

    kind: HypothesisKind
    score: float = Field(ge=0, le=1, description="Confidence used for ranking.")
    summary: str
    evidence: list[str] = Field(default_factory=list)
    region: str | None = None
    mechanism: str | None = Field(default=None, description="ecs/lambda/asg for rollbacks.")
    flag: str | None = Field(default=None, description="Catalog flag name for flag hypotheses.")
    rollback_to: dict[str, PreviousRelease] = Field(
        default_factory=dict,
        description="Rollbacks: region -> the release that ran before, and the record saying so. "
        "Empty when no record says: the planner then refuses (NoKnownGoodReleaseError).",
    )


def _minutes_before(change: ChangeEvent, onset: datetime) -> float:
    return (onset - change.at).total_seconds() / 60


def _recency_score(base: float, change: ChangeEvent, onset: datetime) -> float:
    """Closer to onset is more suspicious; never below half the base."""
    minutes = max(_minutes_before(change, onset), 0.0)
    return round(max(base * (1 - minutes / 60), base / 2), 3)


def _rollbacks(
    bundle: EvidenceBundle, changes: list[ChangeEvent], bad: set[str], own: Sequence[OwnChange]
) -> list[Hypothesis]:
    found = []
    for change in changes:
        mechanism = _ROLLBACK_MECHANISM.get(change.kind)
        if mechanism is None or change.region not in bad:
            continue
        target = change.before_source or _seen_before(change, own)
        known = [
            f"roll back to {target.value} ({target.detail})"
            if target
            else f"{change.history}; no earlier Firebreak record either"
        ]
        found.append(
            Hypothesis(
                kind=HypothesisKind.ROLLBACK,
                score=_recency_score(0.9, change, bundle.onset),
                summary=f"{change.kind} in {change.region} {_minutes_before(change, bundle.onset):.1f} min "
                f"before onset ({target.value if target else change.before or 'unknown'} -> {change.after}); "
                "roll it back",
                evidence=[
                    change.summary,
                    f"{change.region} unhealthy: {_unhealthy(bundle, change.region)}",
                    *(known if target or change.history else []),
                ],
                region=change.region,
                mechanism=mechanism,
                rollback_to={change.region: target} if target else {},
            )
        )
    return found


def _seen_before(change: ChangeEvent, own: Sequence[OwnChange]) -> PreviousRelease | None:
    """What Firebreak's records saw live before a change whose history says nothing."""
    if change.history is None or change.after is None:
        return None
    seen = observed(own, change)
    return previous_release(change.after, observed=seen, before=change.at, same=same_task_definition)


def _flags(bundle: EvidenceBundle, changes: list[ChangeEvent], entry: ServiceEnvironment) -> list[Hypothesis]:
    by_parameter = {param: name for name, param in (entry.flags.flags.items() if entry.flags else [])}
    found = []
    for change in changes:
        name = by_parameter.get(change.resource)
        if change.kind != "flag" or name is None or (change.after or "").lower() != "on":
            continue
        found.append(
            Hypothesis(
                kind=HypothesisKind.DISABLE_FLAG,
                score=_recency_score(0.85, change, bundle.onset),
                summary=f"flag {name} switched on {_minutes_before(change, bundle.onset):.1f} min before "
                "onset; switch it off",
                evidence=[change.summary, f"unhealthy regions: {', '.join(bundle.unhealthy_regions())}"],
                flag=name,
            )
        )
    return found


def _traffic(bundle: EvidenceBundle, bad: set[str], entry: ServiceEnvironment) -> list[Hypothesis]:
    healthy = [r for r in bundle.regions if r not in bad and bundle.regions[r].unhealthy_metrics() == []]
    if not bad or not healthy or entry.route53 is None:
        return []
    return [
        Hypothesis(
            kind=HypothesisKind.SHIFT_TRAFFIC,
            score=0.6,
            summary=f"{region} unhealthy while {', '.join(healthy)} is fine; shift traffic away from it",
            evidence=[
                f"{region} unhealthy: {_unhealthy(bundle, region)}",
                *(f"{r} healthy" for r in healthy),
            ],
            region=region,
        )
        for region in sorted(bad)
    ]


def _unhealthy(bundle: EvidenceBundle, region: str) -> str:
    ev = bundle.regions[region]
    return ", ".join(f"{m}={ev.latest(m)}" for m in ev.unhealthy_metrics()) or "no data"


def _undoable(change: ChangeEvent) -> bool:
    """A change with a previous state that differs, known or not (``history`` says what is
    known): a creation (nothing before it) is not something a rollback or a flag flip can undo."""
    if change.before is None:
        return change.history is not None
    return change.before != change.after


def diagnose(
    bundle: EvidenceBundle, entry: ServiceEnvironment, own: Sequence[OwnChange] = ()
) -> list[Hypothesis]:
    """Ranked hypotheses, best first; a single ESCALATE hypothesis when nothing matches.

    ``own``: the changes Firebreak applied earlier (flows.own_changes); they are never suspects.
    """
    window = bundle.changes_between(bundle.onset - CHANGE_WINDOW, bundle.onset + GRACE_AFTER_ONSET)
    changes = [c for c in window if _undoable(c) and own_change(c, own) is None]
    bad = set(bundle.unhealthy_regions())
    found = (
        _rollbacks(bundle, changes, bad, own) + _flags(bundle, changes, entry) + _traffic(bundle, bad, entry)
    )
    if not found:
        gaps = sorted(bundle.failed_sources())
        return [
            Hypothesis(
                kind=HypothesisKind.ESCALATE,
                score=0.0,
                summary="no recent change or isolated region explains the symptoms; a human must decide",
                evidence=[
                    f"unhealthy regions: {', '.join(sorted(bad)) or 'none'}",
                    f"recent changes: {len(changes)}",
                    *([f"sources that could not be read: {', '.join(gaps)}"] if gaps else []),
                ],
            )
        ]
    return sorted(found, key=lambda h: h.score, reverse=True)
