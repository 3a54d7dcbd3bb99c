"""The contract every mutating action follows: a Plan before, an Applied after.

A plan is what an approver reads and what the audit trail keeps: the live state before, the
state it will set, which resources and how much of the service it touches. Its hash binds an
approval to exactly this change: if anything in the plan differs, it is a different plan.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, field_validator

from tasks.aws import AwsTarget

JsonDict = dict[str, Any]


class ActionError(RuntimeError):
    """An action could not be planned or applied; the message says what and why.

    ``live_state`` is set when a write failed and the targets were read back afterwards, so the
    record says what is live now (nothing changed, or what a partial failure left behind).
    """

    live_state: JsonDict | None = None
    aws_faults: list[str] = []  # noqa: RUF012 - replaced per instance, never mutated

    def __str__(self) -> str:
        message = super().__str__()
        return message if self.live_state is None else f"{message}; live state read back: {self.live_state}"


class DriftError(ActionError):
    """Live state no longer matches the plan's ``before``: re-plan (and re-ask approval)."""


class PartialApplyError(ActionError):
    """A multi-step action failed midway; ``undone`` lists the steps that were rolled back."""

    def __init__(self, message: str, *, undone: list[str]) -> None:
        super().__init__(message)
        self.undone = undone


class Plan(BaseModel):
    """A described, not yet applied, change."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description='Action kind, e.g. "traffic.shift.route53", "rollback.ecs".')
    service: str
    environment: str
    aws: AwsTarget = Field(description="Where the change is made.")
    targets: list[str] = Field(min_length=1, description="Resource identifiers touched.")
    before: JsonDict = Field(description="Live state read when planning.")
    after: JsonDict = Field(description="State the apply will set.")
    blast_radius: float = Field(ge=0.0, le=1.0, description="Share of traffic/capacity touched.")
    reversible: bool = True
    summary: str = Field(description="One line a human can approve or reject.")
    params: JsonDict = Field(default_factory=dict, description="Action-specific inputs.")
    capacity_factor: float | None = Field(
        default=None,
        gt=0,
        description="Capacity after / before, for scale-outs (the policy caps it); None otherwise.",
    )

    @field_validator("targets")
    @classmethod
    def _no_wildcards(cls, targets: list[str]) -> list[str]:
        for t in targets:
            if not t.strip() or "*" in t:
                raise ValueError(f"target {t!r} is empty or a wildcard")
        return targets

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hash(self) -> str:
        """A stable hash of everything an approver approved (not of the summary text).

        ``capacity_factor`` counts only when set, so the hashes of plans without one stay as
        they were before the field existed.
        """
        unset = {"capacity_factor"} if self.capacity_factor is None else set()
        body = self.model_dump(mode="json", exclude={"summary", "hash", *unset})
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def is_noop(self) -> bool:
        return self.before == self.after


class Applied(BaseModel):
    """What an apply did: whether it changed anything, the AWS request ids, the state read back."""

    model_config = ConfigDict(frozen=True)

    plan: Plan
    changed: bool = Field(description="False when live state already equalled plan.after.")
    request_ids: list[str] = Field(default_factory=list)
    state_after: JsonDict
    aws_faults: list[str] = Field(default_factory=list, description="AWS errors met and overcome.")
    read_back_error: str | None = Field(
        default=None,
        description="The write succeeded but reading the state back failed: state_after is the "
        "plan's after, unconfirmed.",
    )
    applied_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
