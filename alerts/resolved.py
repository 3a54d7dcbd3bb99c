"""How a resolution is recorded, shared by the receiver (writer) and the incident flow (reader).

A resolved alert does not start an incident; it is recorded as a Prefect Variable named after
the alert's fingerprint, so a running incident flow can ask "has my alert resolved?" by name.
Variable names may only hold lowercase letters, digits, dashes and underscores, and a
fingerprint can hold anything (ARNs, label hashes), so the name carries a hash of it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from alerts.models import Alert

RESOLVED_AT = "resolved_at"
"""Annotation key parsers set on resolved alerts: when the sender says the condition ended."""

_PREFIX = "firebreak-resolved-"


def resolved_variable_name(fingerprint: str) -> str:
    """The Prefect Variable that records the resolution of the condition ``fingerprint``.

    >>> resolved_variable_name("alertmanager:c6a2f1b0")
    'firebreak-resolved-bb4989704a93f44f'
    """
    return _PREFIX + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def resolved_at(alert: Alert) -> datetime:
    """When the alert's condition ended: the sender's end time if it gave one, else starts_at."""
    value = alert.annotations.get(RESOLVED_AT)
    if value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return alert.starts_at
        if moment.tzinfo is not None:
            return moment
    return alert.starts_at
