"""The one normalised alert model every source is parsed into.

Whatever sent it (CloudWatch via SNS or EventBridge, Alertmanager, PagerDuty, a drill, a
person), the incident flow only ever sees an :class:`Alert`. The raw payload is kept so that
nothing the sender said is lost, even when the parser did not understand all of it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from policies.severity import StatedFacts


class AlertStatus(StrEnum):
    """Whether the condition behind the alert is still true."""

    FIRING = "firing"
    RESOLVED = "resolved"


class MetricRef(BaseModel):
    """The CloudWatch metric an alert is about, when the source names one."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: str = "Average"
    threshold: float | None = Field(default=None, description="The alarm threshold, if known.")
    comparison: str | None = Field(
        default=None, description="CloudWatch ComparisonOperator, e.g. GreaterThanThreshold."
    )


class Alert(BaseModel):
    """A normalised alert.

    ``fingerprint`` identifies the condition (same alarm, same labels); together with
    ``starts_at`` it identifies one occurrence, which is what dedup keys on.
    """

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="cloudwatch, eventbridge, alertmanager, pagerduty, generic, drill")
    fingerprint: str = Field(min_length=1)
    status: AlertStatus = AlertStatus.FIRING
    service: str | None = Field(default=None, description="Catalog service; None if unroutable.")
    environment: str | None = None
    region: str | None = Field(default=None, description="AWS region code, e.g. eu-west-1.")
    name: str = Field(description="Alarm or rule name.")
    summary: str = ""
    metric: MetricRef | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    facts: StatedFacts | None = Field(
        default=None,
        description="Severity facts the operator states for the service (routing file), never the "
        "sender's: no parser sets them.",
    )
    starts_at: AwareDatetime
    raw: dict[str, Any] | list[Any] | str = Field(
        default_factory=dict, description="The payload exactly as received."
    )

    @property
    def dedup_key(self) -> str:
        """The idempotency key of this occurrence: fingerprint plus onset time."""
        return f"{self.fingerprint}:{_epoch(self.starts_at)}"

    @property
    def routable(self) -> bool:
        """True when the alert names a service and an environment Firebreak knows how to act on."""
        return self.service is not None and self.environment is not None


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
