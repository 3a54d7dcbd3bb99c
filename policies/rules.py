"""Action rules: the ordered list that gives an action its tier when no guardrail objects.

A rule is a :class:`Selector` plus optional conditions on severity, blast radius, capacity
factor and time. The
first rule whose conditions all hold wins, so specific rules go first and broad ones last:

>>> rule = ActionRule(name="small-shift", actions=["traffic.shift.*"], max_blast_radius=0.25,
...                   tier=Tier.AUTOMATED, reason="a small shift is easy to undo")
"""

from __future__ import annotations

from pydantic import Field, model_validator

from policies.request import ActionRequest, DecisionContext
from policies.selectors import Glob, Name, Selector
from policies.tiers import Severity, Tier
from policies.windows import TimeWindow


class ActionRule(Selector):
    """One line of policy: when these conditions hold, the action gets this tier, for this reason."""

    name: Name
    tier: Tier
    reason: str = Field(min_length=1, description="Why: shown to responders and approvers.")
    actions: list[Glob] = Field(min_length=1, description="Action kind globs (required for rules).")
    severities: list[Severity] = Field(
        default_factory=list, description="Only at these severities; empty means any."
    )
    min_blast_radius: float = Field(default=0.0, ge=0.0, le=1.0, description="Inclusive lower bound.")
    max_blast_radius: float = Field(default=1.0, ge=0.0, le=1.0, description="Inclusive upper bound.")
    min_capacity_factor: float | None = Field(
        default=None,
        gt=0,
        description="Inclusive lower bound on the capacity factor (after / before; below 1 is a "
        "scale-in); a request without a factor does not match a rule that sets one.",
    )
    max_capacity_factor: float | None = Field(
        default=None,
        gt=0,
        description="Inclusive upper bound on the capacity factor; a request without a factor does "
        "not match a rule that sets one.",
    )
    during: TimeWindow | None = Field(default=None, description="Only inside this recurring window.")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> ActionRule:
        if self.min_blast_radius > self.max_blast_radius:
            raise ValueError(
                f"min_blast_radius {self.min_blast_radius} is above max_blast_radius {self.max_blast_radius}"
            )
        low, high = self.min_capacity_factor, self.max_capacity_factor
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_capacity_factor {low} is above max_capacity_factor {high}")
        return self

    def matches(self, request: ActionRequest, context: DecisionContext) -> bool:
        """True when every condition of this rule holds for the request in this context."""
        return (
            self.selects(request)
            and (not self.severities or context.severity in self.severities)
            and self.min_blast_radius <= request.blast_radius <= self.max_blast_radius
            and self._capacity_within(request.capacity_factor)
            and (self.during is None or self.during.contains(context.now))
        )

    def _capacity_within(self, factor: float | None) -> bool:
        low, high = self.min_capacity_factor, self.max_capacity_factor
        if low is None and high is None:
            return True
        return factor is not None and (low is None or low <= factor) and (high is None or factor <= high)


def first_match(
    rules: list[ActionRule], request: ActionRequest, context: DecisionContext
) -> ActionRule | None:
    """The first rule that matches, in file order; None when none does."""
    return next((rule for rule in rules if rule.matches(request, context)), None)
