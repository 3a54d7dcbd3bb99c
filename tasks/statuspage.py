"""Posts customer-facing updates to an Atlassian Statuspage-compatible API (kind ``comms.statuspage``).

``POST {api_url}/v1/pages/{page_id}/incidents`` creates the page's incident (Statuspage answers
201 with the incident), ``PATCH {api_url}/v1/pages/{page_id}/incidents/{id}`` adds an update to
it (200). The API key is read from ``FIREBREAK_STATUSPAGE_API_KEY`` when sending and travels
only in the ``Authorization: OAuth <key>`` header, never in a parameter, a log line or a
return value. 429 and 5xx are retried with exponential backoff; any other 4xx is a refusal
that resending cannot fix, so it is not retried. Whether to post at all is the policy's and the
flow's decision (flows/status_page.py), never this module's.
See https://developer.statuspage.io/#tag/incidents.
"""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks.vendor_http import VendorUnavailableError, send_with_retries

logger = logging.getLogger(__name__)

STATUSPAGE_KIND = "comms.statuspage"
API_KEY_ENV = "FIREBREAK_STATUSPAGE_API_KEY"


class StatusPageError(RuntimeError):
    """The status page did not take the update (after retries, or at once for a 4xx)."""


class MissingApiKeyError(StatusPageError):
    """``FIREBREAK_STATUSPAGE_API_KEY`` is not set."""


class IncidentStatus(StrEnum):
    """Statuspage's incident statuses, in the order an incident moves through them."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class ComponentStatus(StrEnum):
    """Statuspage's component statuses, from healthy to down."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


class StatusPageSettings(BaseSettings):
    """Where the status page is. No page id: Firebreak posts nothing (the feature is off)."""

    model_config = SettingsConfigDict(env_prefix="FIREBREAK_STATUSPAGE_", extra="ignore", frozen=True)

    api_url: str = Field(default="https://api.statuspage.io", description="Statuspage API base URL.")
    page_id: str | None = Field(default=None, description="The page incidents are posted to.")
    timeout_seconds: float = Field(default=5.0, gt=0)
    attempts: int = Field(default=4, ge=1, description="Tries on 429/5xx/connection errors.")


class StatusUpdate(BaseModel):
    """One customer-facing update: what the approver reads and what the page receives."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=255, description="The incident's title (set on create).")
    status: IncidentStatus
    body: str = Field(min_length=1, description="The update's text, as customers read it.")
    components: dict[str, ComponentStatus] = Field(description="Statuspage component id -> status.")

    def incident_body(self, *, create: bool, incident_id: str) -> dict[str, Any]:
        """The JSON Statuspage documents; a create also names the incident and carries the
        Firebreak incident id as metadata (not shown to customers)."""
        incident: dict[str, Any] = {
            "status": self.status.value,
            "body": self.body,
            "component_ids": sorted(self.components),
            "components": {k: v.value for k, v in sorted(self.components.items())},
        }
        if create:
            incident["name"] = self.name
            incident["metadata"] = {"firebreak": {"incident_id": incident_id}}
        return {"incident": incident}


class Posted(BaseModel):
    """What the page answered: its incident's id and the status it now shows."""

    model_config = ConfigDict(frozen=True)

    incident: str = Field(description="The Statuspage incident id.")
    status: IncidentStatus
    created: bool


def api_key() -> SecretStr:
    """The key held by ``FIREBREAK_STATUSPAGE_API_KEY``; MissingApiKeyError when unset."""
    value = os.environ.get(API_KEY_ENV, "")
    if not value:
        raise MissingApiKeyError(f"no status page API key: {API_KEY_ENV} is not set")
    return SecretStr(value)


def post_update(
    update: StatusUpdate,
    *,
    incident_id: str,
    existing: str | None,
    settings: StatusPageSettings,
) -> Posted:
    """Create the page's incident (``existing`` None) or add ``update`` to incident ``existing``.

    ``incident_id`` is Firebreak's, kept in the created incident's metadata. Never logs the key.
    """
    if settings.page_id is None:
        raise StatusPageError("no status page: FIREBREAK_STATUSPAGE_PAGE_ID is not set")
    key = api_key()
    base = f"{settings.api_url.rstrip('/')}/v1/pages/{settings.page_id}/incidents"
    method, url = ("POST", base) if existing is None else ("PATCH", f"{base}/{existing}")
    logger.info("status page %s: %s for %s", method, update.status.value, incident_id)
    body = update.incident_body(create=existing is None, incident_id=incident_id)
    try:
        response = send_with_retries(
            method,
            url,
            vendor="the status page",
            body=body,
            headers={"Authorization": f"OAuth {key.get_secret_value()}"},
            attempts=settings.attempts,
            timeout=settings.timeout_seconds,
        )
    except VendorUnavailableError as e:
        raise StatusPageError(f"{update.status.value} for {incident_id}: {e}") from e
    if response.status_code not in (200, 201):
        raise StatusPageError(
            f"{update.status.value} for {incident_id}: the status page refused it "
            f"({response.status_code}): {response.text[:200]}"
        )
    answer = response.json()
    found = answer.get("id") or existing
    if not found:
        raise StatusPageError(f"{update.status.value} for {incident_id}: the answer names no incident id")
    return Posted(
        incident=str(found),
        status=IncidentStatus(answer.get("status", update.status.value)),
        created=existing is None,
    )
