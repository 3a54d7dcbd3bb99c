"""The inputs of a decision: what an action asks to do, and the circumstances it is asked in.

Both are built by the caller (a flow, the CLI, a test). Nothing here is looked up: the live
counts behind rate limits and the kill switch's state are read elsewhere and passed in, which is
what keeps :func:`policies.decide` pure.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from policies.tiers import Severity


class ActionRequest(BaseModel):
    """What an action asks to do, as far as policy is concerned.

    Targets are not validated here on purpose: an empty or wildcard target set must reach the
    guardrails and be *denied* with a reason, not rejected as malformed input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description='Action kind, dotted, no wildcards: "rollback.ecs", "traffic.shift.route53".',
    )
    service: str = Field(min_length=1, description="Catalog service the action touches.")
    environment: str = Field(min_length=1, description='Environment, e.g. "prod", "staging".')
    targets: list[str] = Field(description="Resource identifiers the action touches.")
    blast_radius: float = Field(ge=0.0, le=1.0, description="Share of traffic or capacity touched.")
    verified: bool = Field(
        default=True, description="The plan was computed from live state and its hash is known."
    )
    capacity_factor: float | None = Field(
        default=None, gt=0, description="Capacity after / before, for scale-outs; None otherwise."
    )


class DecisionContext(BaseModel):
    """The circumstances of a decision.

    ``action_counts`` maps :meth:`policies.RateLimit.key_for` keys to how many such actions were
    already taken inside that limit's window (not counting the one being decided).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity
    now: AwareDatetime = Field(description="When the action would run; timezone-aware.")
    kill_switch: bool = Field(default=False, description="Emergency stop for all mutating actions.")
    action_counts: dict[str, int] = Field(default_factory=dict)
    requester: str | None = Field(default=None, description="Who (or which flow) asks.")
