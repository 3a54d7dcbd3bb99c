"""Rankings that learn: past outcomes of the same service and alarm nudge the diagnosis. Pure.

For each hypothesis, its mitigation kind (``rollback.ecs``, ``flags.disable.ssm``...) is looked
up in earlier incidents of the same service and alarm, of the same kind of record (drills only
learn from drills, real incidents from real ones). Every time that mitigation was in effect and
the signal recovered counts for it, every time it was in effect and did not counts against:

    adjustment = MAX_ADJUSTMENT * (verified - failed) / (verified + failed)

so the adjustment never exceeds ``MAX_ADJUSTMENT`` either way, whatever the history says, and
the evidence behind the scores (0.6 to 0.9 for a matched change or region) still decides
between hypotheses that are not close. Hypotheses are re-sorted by the adjusted score, and the
adjustment becomes one more of the hypothesis' score parts (``history: ...``), beside the
parts the diagnosis gave it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from flows.diagnosis import Hypothesis, HypothesisKind, ScorePart
from flows.report import IncidentReport
from tasks.breaker import breaker_kind
from tasks.capacity_asg import KIND as ASG_SCALE_OUT
from tasks.capacity_ecs import KIND as ECS_SCALE_OUT
from tasks.catalog import ServiceEnvironment, TrafficMechanism
from tasks.flags import flag_kind
from tasks.maintenance_alb import ENABLE as MAINTENANCE_ENABLE
from tasks.rollback_asg import KIND as ASG_ROLLBACK
from tasks.rollback_ecs import KIND as ECS_ROLLBACK
from tasks.rollback_lambda import KIND as LAMBDA_ROLLBACK
from tasks.throttle_apigateway import KIND as THROTTLE
from tasks.traffic_alb import KIND as ALB_SHIFT
from tasks.traffic_lambda import KIND as LAMBDA_SHIFT
from tasks.traffic_route53 import KIND as ROUTE53_SHIFT

MAX_ADJUSTMENT = 0.05
_ROLLBACKS = {"ecs": ECS_ROLLBACK, "lambda": LAMBDA_ROLLBACK, "asg": ASG_ROLLBACK}
_SCALE_OUTS = {"ecs": ECS_SCALE_OUT, "asg": ASG_SCALE_OUT}
_SHIFTS = {
    TrafficMechanism.ROUTE53: ROUTE53_SHIFT,
    TrafficMechanism.ALB: ALB_SHIFT,
    TrafficMechanism.LAMBDA: LAMBDA_SHIFT,
}
_FIXED = {HypothesisKind.THROTTLE: THROTTLE, HypothesisKind.MAINTENANCE: MAINTENANCE_ENABLE}


class PastOutcome(BaseModel):
    """One earlier incident in which the same mitigation kind was in effect."""

    incident_id: str
    verified: bool
    people: list[str] = Field(default_factory=list)


class Adjustment(BaseModel):
    """How (and why) one hypothesis' score moved."""

    kind: str = Field(description="The hypothesis' mitigation kind.")
    delta: float
    before: float
    after: float
    past: list[PastOutcome]

    @property
    def verified(self) -> int:
        return sum(p.verified for p in self.past)

    def message(self, service: str, alarm: str) -> str:
        """``+0.05: rollback.ecs fixed checkout ErrorRate 3 of 3 times``."""
        times = f"{self.verified} of {len(self.past)} times"
        return f"{self.delta:+.3g}: {self.kind} fixed {service} {alarm} {times}"


def mitigation_kind(hypothesis: Hypothesis, entry: ServiceEnvironment) -> str | None:
    """The action kind the hypothesis' mitigation plans (as flows.mitigations plans it); None
    for the kinds a person handles (config_change, escalate)."""
    kind = hypothesis.kind
    if kind is HypothesisKind.ROLLBACK:
        return _ROLLBACKS.get(hypothesis.mechanism or "")
    if kind is HypothesisKind.SCALE_OUT:
        return _SCALE_OUTS.get(hypothesis.mechanism or "")
    if kind in {HypothesisKind.DISABLE_FLAG, HypothesisKind.OPEN_BREAKER} and entry.flags is not None:
        if kind is HypothesisKind.OPEN_BREAKER:
            return breaker_kind(entry.flags.kind, True)
        return flag_kind(entry.flags.kind, enabled=False)
    if kind is HypothesisKind.SHIFT_TRAFFIC:
        mechanism = entry.traffic_mechanism
        return _SHIFTS[mechanism] if mechanism is not None else None
    return _FIXED.get(kind)


def past_outcomes(
    history: Sequence[IncidentReport], *, service: str, alarm: str, drill: bool, exclude: str = ""
) -> dict[str, list[PastOutcome]]:
    """Mitigation kind -> outcomes in earlier incidents of ``service`` and ``alarm``, of the same
    record kind; mitigations that were never in effect (denied, rejected...) say nothing."""
    found: dict[str, list[PastOutcome]] = {}
    for report in history:
        if (report.service, report.alert_name, report.drill) != (service, alarm, drill):
            continue
        if report.incident_id == exclude:
            continue
        for m in report.mitigations:
            if m.status.in_effect and m.verified is not None:
                outcome = PastOutcome(incident_id=report.incident_id, verified=m.verified, people=m.people)
                found.setdefault(m.kind, []).append(outcome)
    return found


def adjust(
    hypotheses: Sequence[Hypothesis], entry: ServiceEnvironment, past: dict[str, list[PastOutcome]]
) -> tuple[list[Hypothesis], list[Adjustment]]:
    """The hypotheses re-ranked by their adjusted scores, and every adjustment made."""
    adjusted: list[Hypothesis] = []
    made: list[Adjustment] = []
    for h in hypotheses:
        kind = mitigation_kind(h, entry)
        outcomes = past.get(kind, []) if kind else []
        if kind is None or not outcomes:
            adjusted.append(h)
            continue
        wins = sum(o.verified for o in outcomes)
        delta = round(MAX_ADJUSTMENT * (2 * wins - len(outcomes)) / len(outcomes), 4)
        # rounded for the timeline, then held within the bound the rounding could cross
        score = min(
            max(round(h.score + delta, 3), h.score - MAX_ADJUSTMENT, 0.0), h.score + MAX_ADJUSTMENT, 1.0
        )
        made.append(Adjustment(kind=kind, delta=delta, before=h.score, after=score, past=outcomes))
        parts = h.score_parts or [ScorePart(reason="evidence", value=h.score)]
        history = ScorePart(
            reason=f"history: {kind} fixed it {wins} of {len(outcomes)} times",
            value=round(score - h.score, 4),
        )
        adjusted.append(h.model_copy(update={"score": score, "score_parts": [*parts, history]}))
    return sorted(adjusted, key=lambda h: h.score, reverse=True), made
