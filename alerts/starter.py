"""What the receiver needs from whatever runs incidents: start one, or record a resolution.

The receiver depends on this protocol only, so tests drive it with a fake and production uses
:class:`alerts.prefect_starter.PrefectStarter`. Implementations must be idempotent on
``alert.dedup_key``: the same key returns the same run, which is how redeliveries and HA
senders start exactly one incident; and an alert of a service whose incident is open joins
that run instead of starting another (see :mod:`alerts.open_incident`). They raise
PrefectUnavailableError (retry later) or PrefectRejectedError (the request itself was refused).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from alerts.models import Alert


class StartedRun(BaseModel):
    """The incident run an alert maps to."""

    model_config = ConfigDict(frozen=True)

    flow_run_id: str
    created: bool = Field(description="False when the dedup key already had a run, or joined one.")
    joined: bool = Field(
        default=False,
        description="True when the alert joined the open incident run of its service and "
        "environment instead of starting one.",
    )
    dedup_key: str


class IncidentStarter(Protocol):
    """Starts incident runs and records resolutions."""

    def start(self, alert: Alert) -> StartedRun:
        """Start (or find, or join) the incident run for ``alert.dedup_key``."""
        ...

    def record_resolved(self, alert: Alert) -> None:
        """Record that the condition ``alert.fingerprint`` resolved."""
        ...
