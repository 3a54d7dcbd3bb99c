"""What a diagnosis produces: hypotheses, their kinds, and the parts each score is made of."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from tasks.evidence import PreviousRelease


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

    @property
    def automated(self) -> bool:
        """Whether the kind has a planned mitigation; the others go to a person's checklist."""
        return self not in {HypothesisKind.ESCALATE, HypothesisKind.CONFIG_CHANGE}


class ScorePart(BaseModel):
    """One reason a score is what it is: ``+0.05`` for "2 alarms in ALARM in eu-west-1"."""

    reason: str
    value: float


def total(parts: list[ScorePart]) -> float:
    """The score the parts add up to, held within 0..1."""
    return round(min(max(sum(p.value for p in parts), 0.0), 1.0), 3)


class Hypothesis(BaseModel):
    """A candidate cause and the mitigation it implies."""

    kind: HypothesisKind
    score: float = Field(ge=0, le=1, description="Confidence used for ranking.")
    summary: str
    evidence: list[str] = Field(default_factory=list)
    score_parts: list[ScorePart] = Field(
        default_factory=list, description="What the score is made of (sums to it, within 0..1)."
    )
    region: str | None = None
    mechanism: str | None = Field(
        default=None, description="ecs/lambda/asg for rollbacks, ecs/asg for scale-outs."
    )
    flag: str | None = Field(default=None, description="Catalog flag name for flag and breaker hypotheses.")
    dependency: str | None = Field(default=None, description="Catalog dependency name for breakers.")
    weights: dict[str, int] = Field(
        default_factory=dict,
        description="shift_traffic by ALB (target group ARN -> weight) or Lambda (version -> percent).",
    )
    checklist: list[str] = Field(
        default_factory=list, description="For a person (config_change, escalate): what to check or do."
    )
    rollback_to: dict[str, PreviousRelease] = Field(
        default_factory=dict,
        description="Rollbacks: region -> the release that ran before, and the record saying so. "
        "Empty when no record says: the planner then refuses (NoKnownGoodReleaseError).",
    )

    @classmethod
    def scored(cls, parts: list[ScorePart], **fields: object) -> Hypothesis:
        """A hypothesis whose score is the total of ``parts``."""
        return cls.model_validate({**fields, "score": total(parts), "score_parts": parts})

    def with_part(self, reason: str, value: float) -> Hypothesis:
        """A copy with one more score part (a hypothesis built without parts keeps its score as one)."""
        parts = self.score_parts or [ScorePart(reason="evidence", value=self.score)]
        parts = [*parts, ScorePart(reason=reason, value=value)]
        return self.model_copy(update={"score_parts": parts, "score": total(parts)})

    def explain(self) -> str:
        """``0.7 = +0.6 eu-west-1 unhealthy while us-east-1 is fine; +0.05 1 alarm in ALARM ...``."""
        parts = "; ".join(f"{p.value:+.3g} {p.reason}" for p in self.score_parts)
        return f"{self.score} = {parts}" if parts else str(self.score)
