"""The guardrail settings a policy declares: blast-radius caps, rate limits and change freezes.

The policy only declares limits. Counting happens outside (the flows keep the counts in the
Prefect server) and comes back in :attr:`DecisionContext.action_counts`, keyed by
:meth:`RateLimit.key_for`, so two workers deciding at once see the same numbers.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from policies.request import ActionRequest
from policies.selectors import Name, Selector
from policies.windows import FreezeWindow


class LimitScope(StrEnum):
    """What a rate limit counts separately."""

    SERVICE = "service"
    ENVIRONMENT = "environment"
    SERVICE_ENVIRONMENT = "service_environment"
    GLOBAL = "global"


class RateLimit(Selector):
    """At most ``max_count`` selected actions per scope within ``window_minutes``.

    >>> limit = RateLimit(name="rollback-per-service", actions=["rollback.*"], max_count=3)
    >>> limit.key_for(ActionRequest(kind="rollback.ecs", service="checkout", environment="prod",
    ...                             targets=["svc"], blast_radius=1.0))
    'rollback-per-service:checkout'
    """

    name: Name
    per: LimitScope = LimitScope.SERVICE
    max_count: int = Field(ge=1, description="Actions allowed inside one window.")
    window_minutes: int = Field(default=60, ge=1, description="Length of the sliding window.")

    def key_for(self, request: ActionRequest) -> str | None:
        """The counter this request counts against, or None when the limit does not apply."""
        if not self.selects(request):
            return None
        scope = {
            LimitScope.SERVICE: [request.service],
            LimitScope.ENVIRONMENT: [request.environment],
            LimitScope.SERVICE_ENVIRONMENT: [request.service, request.environment],
            LimitScope.GLOBAL: [],
        }[self.per]
        return ":".join([self.name, *scope])


class BlastRadiusCap(Selector):
    """Hard cap for the selected kinds: a larger blast radius is denied, whatever the rules.

    Caps are per kind because blast radius means different things: a traffic shift touches a
    share of requests, while a flag or a single-region rollback always touches everyone who
    uses it (1.0), and a global cap would deny those outright.
    """

    name: Name
    max_blast_radius: float = Field(ge=0.0, le=1.0, description="Largest allowed blast radius.")


class GuardrailSettings(BaseModel):
    """Limits that override every rule: breaking one denies the action."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blast_radius_caps: list[BlastRadiusCap] = Field(
        default_factory=list, description="First cap selecting the action applies; none: no cap."
    )
    require_verified_plan: bool = Field(
        default=True, description="Deny mutating actions in production whose plan is not verified."
    )
    rate_limits: list[RateLimit] = Field(default_factory=list)
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
