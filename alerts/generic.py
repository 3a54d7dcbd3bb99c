"""The generic JSON format, for senders Firebreak has no parser for (scripts, other monitors).

One alert or a list of alerts, flat, documented in docs/alerts.md. Routing fields given here
win over the routing file; missing ones are filled from labels like any other source.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from alerts.models import Alert, AlertStatus, MetricRef
from alerts.payload import ParseResult, Payload, Timestamp, load_json, validate
from alerts.resolved import RESOLVED_AT

SOURCE = "generic"


class GenericAlert(Payload):
    """One alert in the generic format. Unknown fields are refused, so a typo is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str = Field(min_length=1, max_length=512, description="Identifies the condition.")
    status: AlertStatus = AlertStatus.FIRING
    name: str = Field(min_length=1, description="Alarm or rule name.")
    starts_at: Timestamp = Field(description="Onset, timezone-aware ISO 8601.")
    ends_at: Timestamp | None = Field(default=None, description="When it resolved, if it did.")
    service: str | None = None
    environment: str | None = None
    region: str | None = None
    summary: str = ""
    metric: MetricRef | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


def parse_generic(body: bytes | str) -> ParseResult:
    """Accept one generic alert object or a list of them."""
    data = load_json(body, SOURCE)
    items = data if isinstance(data, list) else [data]
    where = "[{}]" if isinstance(data, list) else ""
    return ParseResult(alerts=[_alert(item, where.format(i)) for i, item in enumerate(items)])


def _alert(item: Any, where: str) -> Alert:
    parsed = validate(GenericAlert, item, SOURCE, where)
    annotations = dict(parsed.annotations)
    if parsed.ends_at is not None:
        annotations[RESOLVED_AT] = parsed.ends_at.isoformat()
    return Alert(
        source=SOURCE,
        fingerprint=parsed.fingerprint,
        status=parsed.status,
        service=parsed.service,
        environment=parsed.environment,
        region=parsed.region,
        name=parsed.name,
        summary=parsed.summary,
        metric=parsed.metric,
        labels=parsed.labels,
        annotations=annotations,
        starts_at=parsed.starts_at,
        raw=item,
    )
