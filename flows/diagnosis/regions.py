"""Rule on where the damage is: some of the service is unhealthy while the rest is fine -> shift
traffic away from the unhealthy part, by the catalog's ``traffic`` mechanism:

- ``route53``: some regions unhealthy while others are fine -> shift away from each bad region;
- ``alb``: in an unhealthy region, some of the listener's target groups have unhealthy targets
  and others none -> all weight to the target groups without unhealthy targets;
- ``lambda``: in an unhealthy region, the alias splits traffic over versions -> all of it to
  the alias' primary version.
"""

from __future__ import annotations

from flows.diagnosis.changes import unhealthy_text
from flows.diagnosis.model import Hypothesis, HypothesisKind, ScorePart
from tasks.catalog import ServiceEnvironment, TrafficMechanism
from tasks.evidence import EvidenceBundle

SHIFT_SCORE = 0.6


def shifts(bundle: EvidenceBundle, bad: set[str], entry: ServiceEnvironment) -> list[Hypothesis]:
    mechanism = entry.traffic_mechanism
    if mechanism is TrafficMechanism.ROUTE53:
        return _regions(bundle, bad)
    if mechanism is TrafficMechanism.ALB:
        return [h for region in sorted(bad) if (h := _target_groups(bundle, region, entry)) is not None]
    if mechanism is TrafficMechanism.LAMBDA:
        return [h for region in sorted(bad) if (h := _versions(bundle, region)) is not None]
    return []


def _regions(bundle: EvidenceBundle, bad: set[str]) -> list[Hypothesis]:
    healthy = [r for r in bundle.regions if r not in bad and bundle.regions[r].unhealthy_metrics() == []]
    if not bad or not healthy:
        return []
    return [
        Hypothesis.scored(
            [ScorePart(reason=f"{region} unhealthy while {', '.join(healthy)} is fine", value=SHIFT_SCORE)],
            kind=HypothesisKind.SHIFT_TRAFFIC,
            summary=f"{region} unhealthy while {', '.join(healthy)} is fine; shift traffic away from it",
            evidence=[
                f"{region} unhealthy: {unhealthy_text(bundle, region)}",
                *(f"{r} healthy" for r in healthy),
            ],
            region=region,
        )
        for region in sorted(bad)
    ]


def _target_groups(bundle: EvidenceBundle, region: str, entry: ServiceEnvironment) -> Hypothesis | None:
    alb = entry.regions[region].alb
    ev = bundle.regions[region]
    if alb is None or not ev.targets:
        return None
    sick = {t.target_group_arn for t in ev.unhealthy_targets()}
    fine = [arn for arn in alb.target_group_arns if arn not in sick and any(
        t.target_group_arn == arn and t.state == "healthy" for t in ev.targets
    )]  # fmt: skip
    if not sick or not fine:
        return None
    share, rest = divmod(100, len(fine))
    weights = {arn: share + (i < rest) for i, arn in enumerate(fine)} | dict.fromkeys(sorted(sick), 0)
    why = f"target groups with unhealthy targets in {region}: {', '.join(sorted(sick))}"
    return Hypothesis.scored(
        [ScorePart(reason=why, value=SHIFT_SCORE)],
        kind=HypothesisKind.SHIFT_TRAFFIC,
        summary=f"{region}: shift the listener's traffic to the target groups without unhealthy targets",
        evidence=[f"{region} unhealthy: {unhealthy_text(bundle, region)}", why],
        region=region,
        weights=weights,
    )


def _versions(bundle: EvidenceBundle, region: str) -> Hypothesis | None:
    alias = bundle.regions[region].lambda_alias
    if alias is None or not alias.additional_weights:
        return None
    split = ", ".join(f"{v} {w:.0%}" for v, w in sorted(alias.additional_weights.items()))
    why = f"alias {alias.alias} in {region} sends part of its traffic to other versions ({split})"
    return Hypothesis.scored(
        [ScorePart(reason=why, value=SHIFT_SCORE)],
        kind=HypothesisKind.SHIFT_TRAFFIC,
        summary=f"{region}: send all of alias {alias.alias}'s traffic to version {alias.version}",
        evidence=[f"{region} unhealthy: {unhealthy_text(bundle, region)}", why],
        region=region,
        weights={alias.version: 100} | dict.fromkeys(sorted(alias.additional_weights), 0),
    )
