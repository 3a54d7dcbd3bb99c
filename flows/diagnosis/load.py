"""Rules on load: saturation under a traffic rise -> scale out; the same at the capacity cap ->
throttle.

- **saturation**: a saturation metric (``role: saturation``: CPU, memory, latency) beyond its
  catalogued threshold while the traffic metric is at least :data:`TRAFFIC_RISE` times its
  baseline (``RegionEvidence.traffic_rise``), no recent change explains it (no rollback or flag
  hypothesis), and the region's ECS service or ASG is below its catalogued ``capacity.max`` ->
  ``scale_out``. Saturation without a traffic rise is not load: it is left to the other rules.
- **overload**: the same, with the desired count already at ``capacity.max`` -> ``throttle``
  when the region has an ``api_gateway`` stage (approval by default); scaling further is not
  possible.
"""

from __future__ import annotations

from flows.diagnosis.model import Hypothesis, HypothesisKind, ScorePart
from tasks.catalog import ServiceEnvironment
from tasks.evidence import EvidenceBundle, RegionEvidence

TRAFFIC_RISE = 1.5  # recent traffic over its baseline that counts as "well above"


def _desired(ev: RegionEvidence) -> tuple[str, int, int] | None:
    """(mechanism, desired, running) of the region's scalable compute, ECS first."""
    if ev.ecs is not None:
        return "ecs", ev.ecs.desired, ev.ecs.running
    if ev.asg is not None:
        return "asg", ev.asg.desired, ev.asg.healthy_in_service
    return None


def load_rules(bundle: EvidenceBundle, entry: ServiceEnvironment, explained: set[str]) -> list[Hypothesis]:
    """Scale-out and throttle hypotheses, one per region under load. ``explained``: regions a
    recent change already explains (their rollback or flag hypothesis comes first)."""
    found = []
    for region, ev in sorted(bundle.regions.items()):
        res = entry.regions.get(region)
        saturated = ev.saturated_metrics()
        rise = ev.traffic_rise()
        compute = _desired(ev)
        if res is None or region in explained or not saturated or rise is None or rise < TRAFFIC_RISE:
            continue
        if res.capacity is None or compute is None or ev.baseline is None:
            continue
        mechanism, desired, running = compute
        load = [
            f"{region} saturated: " + ", ".join(f"{m}={ev.latest(m)}" for m in saturated),
            f"{region} traffic {rise:.2f}x its baseline (median {ev.baseline.median:g} in the hour "
            "before onset)",
            f"{region} {mechanism} running {running} of desired {desired} (cap {res.capacity.max})",
        ]
        at_cap = desired >= res.capacity.max
        if not at_cap:
            found.append(
                Hypothesis.scored(
                    [
                        ScorePart(reason=f"{', '.join(saturated)} saturated", value=0.5),
                        ScorePart(reason=f"traffic {rise:.2f}x baseline", value=0.3),
                    ],
                    kind=HypothesisKind.SCALE_OUT,
                    summary=f"{region} saturated under {rise:.1f}x its usual traffic; add capacity "
                    f"({desired} -> at most {min(desired + res.capacity.step, res.capacity.max)})",
                    evidence=load,
                    region=region,
                    mechanism=mechanism,
                )
            )
        elif res.api_gateway is not None:
            found.append(
                Hypothesis.scored(
                    [
                        ScorePart(reason=f"{', '.join(saturated)} saturated", value=0.4),
                        ScorePart(reason=f"traffic {rise:.2f}x baseline", value=0.2),
                        ScorePart(reason=f"capacity at its cap ({desired}/{res.capacity.max})", value=0.1),
                    ],
                    kind=HypothesisKind.THROTTLE,
                    summary=f"{region} overloaded at its capacity cap ({res.capacity.max}); throttle "
                    f"API stage {res.api_gateway.stage} to {res.api_gateway.emergency_rate:g} req/s",
                    evidence=load,
                    region=region,
                )
            )
    return found
