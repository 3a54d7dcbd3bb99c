"""Rules on recent changes: a deploy to roll back, a flag to switch off, a person's change to name.

- a deploy or alias change shortly before onset, in a region that is unhealthy -> roll it back
  to what ran before it (the change's ``before``, from the resource's history; else what
  Firebreak's own records saw live; else a rollback hypothesis without a target, which the
  planner refuses with what is known, so a human gets it). A deploy in a healthy region is
  never a rollback hypothesis, however close to onset;
- a feature flag switched on shortly before onset -> switch it off. "On" is the flag's
  ``on_value`` (SSM; AppConfig flags are reported on/off from their ``enabled`` boolean). A
  breaker flag is not a suspect: switching one on is containment (flows.diagnosis.dependencies);
- a CloudTrail write to the service's resources by someone other than Firebreak, that is not a
  release (deploys are the rules above) nor a creation -> a ``config_change`` line for the evidence, and a
  hypothesis whose step is a person's checklist when no other rule explains the symptoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flows.diagnosis.model import Hypothesis, HypothesisKind, ScorePart
from flows.own_changes import OwnChange, is_firebreak_call, observed
from tasks.catalog import ServiceEnvironment
from tasks.deploy_history import previous_release, same_task_definition
from tasks.evidence import ChangeEvent, EvidenceBundle, PreviousRelease

CREATIONS = ("Create", "Register", "Run", "Tag", "Publish")  # calls that add, not change
_ROLLBACK_MECHANISM = {"ecs.deploy": "ecs", "lambda.alias": "lambda", "asg.launch_template": "asg"}


def minutes_before(change: ChangeEvent, onset: datetime) -> float:
    return (onset - change.at).total_seconds() / 60


def recency(base: float, change: ChangeEvent, onset: datetime) -> ScorePart:
    """Closer to onset is more suspicious; never below half the base."""
    minutes = max(minutes_before(change, onset), 0.0)
    value = round(max(base * (1 - minutes / 60), base / 2), 3)
    return ScorePart(reason=f"{change.kind} {minutes:.1f} min before onset", value=value)


def unhealthy_text(bundle: EvidenceBundle, region: str) -> str:
    ev = bundle.regions[region]
    return ", ".join(f"{m}={ev.latest(m)}" for m in ev.unhealthy_metrics()) or "no data"


def rollbacks(
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
            Hypothesis.scored(
                [recency(0.9, change, bundle.onset)],
                kind=HypothesisKind.ROLLBACK,
                summary=f"{change.kind} in {change.region} {minutes_before(change, bundle.onset):.1f} min "
                f"before onset ({target.value if target else change.before or 'unknown'} -> {change.after}); "
                "roll it back",
                evidence=[
                    change.summary,
                    f"{change.region} unhealthy: {unhealthy_text(bundle, change.region)}",
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


def flags(bundle: EvidenceBundle, changes: list[ChangeEvent], entry: ServiceEnvironment) -> list[Hypothesis]:
    store = entry.flags
    if store is None:
        return []
    breakers = {d.breaker_flag for d in entry.dependencies.values()}
    by_parameter = {param: name for name, param in store.flags.items() if name not in breakers}
    found = []
    for change in changes:
        name = by_parameter.get(change.resource)
        if change.kind != "flag" or name is None:
            continue
        if (change.after or "").lower() != store.on_value(name).lower():
            continue
        found.append(
            Hypothesis.scored(
                [recency(0.85, change, bundle.onset)],
                kind=HypothesisKind.DISABLE_FLAG,
                summary=f"flag {name} switched on {minutes_before(change, bundle.onset):.1f} min before "
                "onset; switch it off",
                evidence=[change.summary, f"unhealthy regions: {', '.join(bundle.unhealthy_regions())}"],
                flag=name,
            )
        )
    return found


def by_a_person(changes: list[ChangeEvent]) -> list[ChangeEvent]:
    """CloudTrail writes to the service's resources that change something that existed and are
    not Firebreak's calls. The snapshot reports release calls as deploys, not here, and leaves
    out calls made by AWS services; creations (:data:`CREATIONS`) are not suspects, as with
    deploys. Changes Firebreak's records name are expected to be left out already."""
    return [
        c
        for c in changes
        if c.kind == "cloudtrail"
        and c.write is not None
        and not c.write.event_name.startswith(CREATIONS)
        and not is_firebreak_call(c.write)
    ]


def change_line(change: ChangeEvent, onset: datetime) -> str:
    who = change.write.caller if change.write else "unknown"
    return (
        f"configuration change by a person: {change.summary} on {change.resource} in {change.region} "
        f"({who}, {minutes_before(change, onset):.1f} min before onset)"
    )


def config_changes(bundle: EvidenceBundle, changes: list[ChangeEvent]) -> list[Hypothesis]:
    """One config_change hypothesis per person's change; never automated (a person reverts it)."""
    return [
        Hypothesis.scored(
            [recency(0.7, change, bundle.onset)],
            kind=HypothesisKind.CONFIG_CHANGE,
            summary=f"{change.summary} on {change.resource} in {change.region} "
            f"{minutes_before(change, bundle.onset):.1f} min before onset; a person must review it",
            evidence=[change_line(change, bundle.onset)],
            region=change.region,
            checklist=[
                f"Review {change.summary} on {change.resource} in {change.region} at "
                f"{change.at:%H:%M:%S}Z (request {change.write.request_id if change.write else '?'}): "
                "ask who made it and revert it by hand if it caused this"
            ],
        )
        for change in changes
    ]
