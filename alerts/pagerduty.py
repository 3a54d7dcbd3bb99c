"""PagerDuty V3 webhooks: incident.triggered starts an incident, incident.resolved records a
resolution, every other event type (acknowledged, annotated, reassigned...) is kept and ignored.

PagerDuty signs the raw body: ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256>``, with one
signature per active secret (several, comma-separated, while a secret is being rotated).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from pydantic import Field

from alerts.errors import BadCredentialsError, MissingCredentialsError
from alerts.models import Alert, AlertStatus
from alerts.payload import ParseResult, Payload, Timestamp, load_json, validate
from alerts.resolved import RESOLVED_AT

SOURCE = "pagerduty"
SIGNATURE_HEADER = "x-pagerduty-signature"

_STATUS = {"incident.triggered": AlertStatus.FIRING, "incident.resolved": AlertStatus.RESOLVED}


class _Reference(Payload):
    id: str = ""
    summary: str = ""


class _Incident(Payload):
    id: str = Field(min_length=1)
    title: str = ""
    status: str = ""
    urgency: str = ""
    incident_key: str | None = None
    html_url: str = ""
    created_at: Timestamp | None = None
    service: _Reference | None = None
    priority: _Reference | None = None


class _Event(Payload):
    id: str
    event_type: str
    resource_type: str = ""
    occurred_at: Timestamp
    data: dict[str, object] = Field(default_factory=dict)


class WebhookV3(Payload):
    """The V3 envelope: everything is under ``event``."""

    event: _Event


def verify_pagerduty_signature(body: bytes, header: str | None, secrets: Iterable[str]) -> None:
    """Raise unless one ``v1=`` signature in ``header`` is the HMAC of ``body`` under a secret."""
    if not header:
        raise MissingCredentialsError("missing X-PagerDuty-Signature header")
    offered = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not offered:
        raise BadCredentialsError("X-PagerDuty-Signature has no v1= signature")
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise BadCredentialsError("X-PagerDuty-Signature does not match the body under any configured secret")


def parse_pagerduty(body: bytes | str) -> ParseResult:
    """Normalise an incident.triggered / incident.resolved event into one Alert."""
    data = load_json(body, SOURCE)
    event = validate(WebhookV3, data, SOURCE).event
    status = _STATUS.get(event.event_type)
    if status is None:
        return ParseResult(ignored=[f"PagerDuty event {event.event_type!r} starts or resolves nothing"])
    incident = validate(_Incident, event.data, SOURCE, "event.data")
    labels = {"pagerduty_incident": incident.id, "urgency": incident.urgency}
    if incident.service:
        labels["pagerduty_service"] = incident.service.summary
    if incident.priority:
        labels["priority"] = incident.priority.summary
    annotations = {"pagerduty_event_id": event.id, "html_url": incident.html_url}
    if status is AlertStatus.RESOLVED:
        annotations[RESOLVED_AT] = event.occurred_at.isoformat()
    alert = Alert(
        source=SOURCE,
        fingerprint=f"pagerduty:{incident.id}",
        status=status,
        name=incident.title or incident.id,
        summary=incident.title,
        labels={k: v for k, v in labels.items() if v},
        annotations={k: v for k, v in annotations.items() if v},
        starts_at=incident.created_at or event.occurred_at,
        raw=data,
    )
    return ParseResult(alerts=[alert])
