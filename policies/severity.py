"""Severity classification: SEV-1..SEV-4 from an incident's facts, with response duties.

The matrix (thresholds and duties) lives in the policy file so an organisation can tune it; the
order of the checks is fixed here so every SEV means the same thing everywhere:

1. SEV-1 when security/data is exposed, all users are hit, or revenue at risk is above the SEV-1 line;
2. SEV-4 when only internal users are affected (and nothing made it SEV-1);
3. SEV-2 for a major segment, several regions, revenue above the SEV-2 line, or core
   functionality down without a workaround;
4. SEV-3 otherwise: a minor impact, or one with a workaround.

The business facts (revenue at risk, data exposure, internal-only, tier) are the operator's to
state (:class:`StatedFacts`, from the routing file). Alert labels of the same names come from
whoever can send an alert, so :func:`stated_impact` lets them *raise* severity only for the
sources the policy lists in ``severity.trusted_label_sources`` (none by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policies.selectors import Name
from policies.tiers import Severity

if TYPE_CHECKING:
    from policies.policy import Policy


class IncidentFacts(BaseModel):
    """What is known about an incident's impact; all shares are 0..1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    users_affected: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of users affected.")
    traffic_affected: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of requests failing.")
    regions_affected: int = Field(default=1, ge=0, description="Number of regions affected.")
    core_functionality: bool = Field(default=False, description="Core (not secondary) functionality hit.")
    workaround_available: bool = False
    revenue_per_hour_at_risk: float = Field(default=0.0, ge=0.0, description="In the policy's currency.")
    data_exposure: bool = Field(default=False, description="Security breach or data exposure suspected.")
    internal_only: bool = Field(default=False, description="Only internal users are affected.")

    @property
    def impact_share(self) -> float:
        """The larger of the user and traffic shares: whichever says it is worse."""
        return max(self.users_affected, self.traffic_affected)


class StatedFacts(BaseModel):
    """Business facts about a service's impact, as the operator states them; None: not stated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    revenue_per_hour: float | None = Field(default=None, ge=0.0, description="Revenue at risk while down.")
    data_exposure: bool | None = Field(default=None, description="An incident here exposes data.")
    internal_only: bool | None = Field(default=None, description="Only internal users use it.")
    tier: Literal["core", "secondary"] | None = Field(default=None, description="core: no workaround.")


def label_facts(labels: Mapping[str, str]) -> StatedFacts:
    """The facts an alert's labels claim (``revenue_per_hour``, ``data_exposure``,
    ``internal_only``, ``tier``); a label that does not parse claims nothing."""
    claimed: dict[str, object] = {}
    for name in StatedFacts.model_fields:
        value = labels.get(name)
        if value is None:
            continue
        try:
            claimed |= StatedFacts.model_validate({name: value}).model_dump(exclude_none=True)
        except ValidationError:
            continue
    return StatedFacts.model_validate(claimed)


def stated_impact(
    stated: StatedFacts | None, labels: Mapping[str, str], source: str, matrix: SeverityMatrix
) -> StatedFacts:
    """The operator's facts, raised by the alert's labels only when the policy trusts ``source``.

    A trusted label can add revenue, data exposure or core tier, and clear internal-only; it
    can never lower a fact the operator stated.

    >>> stated_impact(None, {"revenue_per_hour": "9e9"}, "generic", SeverityMatrix()).revenue_per_hour is None
    True
    """
    base = stated or StatedFacts()
    if source not in matrix.trusted_label_sources:
        return base
    claimed = label_facts(labels)
    revenues = [r for r in (base.revenue_per_hour, claimed.revenue_per_hour) if r is not None]
    return StatedFacts(
        revenue_per_hour=max(revenues) if revenues else None,
        data_exposure=base.data_exposure or claimed.data_exposure,
        internal_only=base.internal_only and claimed.internal_only is not False,
        tier="core" if "core" in (base.tier, claimed.tier) else base.tier,
    )


class ResponseRequirements(BaseModel):
    """What a severity obliges responders to do; the flows schedule updates from this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_update_minutes: int = Field(ge=1, description="First status update within this many minutes.")
    update_cadence_minutes: int = Field(ge=1, description="Then an update at least this often.")
    notify: list[Name] = Field(default_factory=list, description="Who is told (groups or people).")


def _default_requirements() -> dict[Severity, ResponseRequirements]:
    return {
        Severity.SEV_1: ResponseRequirements(
            first_update_minutes=15, update_cadence_minutes=30, notify=["incident-commanders", "executives"]
        ),
        Severity.SEV_2: ResponseRequirements(
            first_update_minutes=30, update_cadence_minutes=60, notify=["incident-commanders"]
        ),
        Severity.SEV_3: ResponseRequirements(
            first_update_minutes=120, update_cadence_minutes=240, notify=["oncall-leads"]
        ),
        Severity.SEV_4: ResponseRequirements(
            first_update_minutes=1440, update_cadence_minutes=1440, notify=["service-owner"]
        ),
    }


class SeverityMatrix(BaseModel):
    """Thresholds for the classification and the duties of each severity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all_users_share: float = Field(default=0.9, gt=0.0, le=1.0, description="At or above: SEV-1.")
    major_segment_share: float = Field(default=0.25, gt=0.0, le=1.0, description="At or above: SEV-2.")
    multi_region_count: int = Field(default=2, ge=2, description="This many regions or more: SEV-2.")
    sev1_revenue_per_hour: float = Field(default=1_000_000, gt=0, description="Above: SEV-1.")
    sev2_revenue_per_hour: float = Field(default=100_000, gt=0, description="At or above: SEV-2.")
    requirements: dict[Severity, ResponseRequirements] = Field(default_factory=_default_requirements)
    trusted_label_sources: list[Name] = Field(
        default_factory=list,
        description="Alert sources whose labels (revenue_per_hour, data_exposure, internal_only, tier) "
        "may raise severity; none by default, since anyone who can send an alert writes its labels.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SeverityMatrix:
        if self.major_segment_share > self.all_users_share:
            raise ValueError("major_segment_share is above all_users_share")
        if self.sev2_revenue_per_hour > self.sev1_revenue_per_hour:
            raise ValueError("sev2_revenue_per_hour is above sev1_revenue_per_hour")
        missing = [str(s) for s in Severity if s not in self.requirements]
        if missing:
            raise ValueError(f"requirements: missing {', '.join(missing)}")
        return self


class SeverityAssessment(BaseModel):
    """A severity, the facts that made it, and what it obliges responders to do."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    reasons: list[str]
    requirements: ResponseRequirements


def _sev1_reasons(facts: IncidentFacts, m: SeverityMatrix) -> list[str]:
    reasons = []
    if facts.data_exposure:
        reasons.append("security or data exposure")
    if facts.impact_share >= m.all_users_share:
        reasons.append(f"{facts.impact_share:.0%} of users/traffic affected (all users)")
    if facts.revenue_per_hour_at_risk > m.sev1_revenue_per_hour:
        reasons.append(f"{facts.revenue_per_hour_at_risk:,.0f}/h revenue at risk")
    return reasons


def _sev2_reasons(facts: IncidentFacts, m: SeverityMatrix) -> list[str]:
    reasons = []
    if facts.impact_share >= m.major_segment_share:
        reasons.append(f"{facts.impact_share:.0%} of users/traffic affected (major segment)")
    if facts.regions_affected >= m.multi_region_count:
        reasons.append(f"{facts.regions_affected} regions affected")
    if facts.revenue_per_hour_at_risk >= m.sev2_revenue_per_hour:
        reasons.append(f"{facts.revenue_per_hour_at_risk:,.0f}/h revenue at risk")
    if facts.core_functionality and not facts.workaround_available:
        reasons.append("core functionality down without a workaround")
    return reasons


def classify_severity(facts: IncidentFacts, policy: Policy) -> SeverityAssessment:
    """Classify an incident with the policy's matrix; ``reasons`` lists every fact that set the level.

    >>> classify_severity(IncidentFacts(data_exposure=True), default_policy()).severity
    <Severity.SEV_1: 'SEV-1'>
    """
    matrix = policy.severity
    minor = "minor impact with a workaround" if facts.workaround_available else "minor impact"
    severity, reasons = Severity.SEV_3, [minor]
    if sev1 := _sev1_reasons(facts, matrix):
        severity, reasons = Severity.SEV_1, sev1
    elif facts.internal_only:
        severity, reasons = Severity.SEV_4, ["internal users only"]
    elif sev2 := _sev2_reasons(facts, matrix):
        severity, reasons = Severity.SEV_2, sev2
    return SeverityAssessment(severity=severity, reasons=reasons, requirements=matrix.requirements[severity])
