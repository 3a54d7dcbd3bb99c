"""Pages through the PagerDuty Events API v2 (action kind ``page.pagerduty``).

``POST {base_url}/v2/enqueue`` with a routing key (one per PagerDuty service, read from an
environment variable the policy names, never a parameter), an ``event_action`` and the
incident id as ``dedup_key``, so trigger, acknowledge and resolve all land on one PagerDuty
incident. PagerDuty answers 202 when it accepted the event, 400 when the event is invalid
(resending cannot help, so it is not retried) and 429 or 5xx when it could not take it now
(retried with exponential backoff). See https://developer.pagerduty.com/docs/events-api-v2/.
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

PAGE_KIND = "page.pagerduty"
DEFAULT_ROUTING_KEY_ENV = "FIREBREAK_PAGERDUTY_ROUTING_KEY"


class PagerDutyError(RuntimeError):
    """PagerDuty did not accept the event (after retries, or at once for a 4xx)."""


class MissingRoutingKeyError(PagerDutyError):
    """The environment variable that should hold the routing key is not set."""


class EventAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class PageSeverity(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class PagerDutySettings(BaseSettings):
    """Where PagerDuty is; the routing keys are read per event from the variable it names."""

    model_config = SettingsConfigDict(env_prefix="FIREBREAK_PAGERDUTY_", extra="ignore", frozen=True)

    api_url: str = Field(default="https://events.pagerduty.com", description="Events API base URL.")
    timeout_seconds: float = Field(default=5.0, gt=0)
    attempts: int = Field(default=4, ge=1, description="Tries on 429/5xx/connection errors.")


class PageEvent(BaseModel):
    """One event for one PagerDuty service (named by the variable holding its routing key)."""

    model_config = ConfigDict(frozen=True)

    routing_key_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="Variable with the key.")
    action: EventAction
    dedup_key: str = Field(min_length=1, max_length=255, description="The incident id.")
    summary: str = Field(default="", max_length=1024)
    source: str = "firebreak"
    severity: PageSeverity = PageSeverity.CRITICAL
    details: dict[str, Any] = Field(default_factory=dict)

    def body(self, routing_key: SecretStr) -> dict[str, Any]:
        """The JSON body PagerDuty documents; a trigger carries the payload, the others do not."""
        body: dict[str, Any] = {
            "routing_key": routing_key.get_secret_value(),
            "event_action": self.action.value,
            "dedup_key": self.dedup_key,
        }
        if self.action is EventAction.TRIGGER:
            body["payload"] = {
                "summary": self.summary or self.dedup_key,
                "source": self.source,
                "severity": self.severity.value,
                "custom_details": self.details,
            }
        return body


def routing_key(env: str) -> SecretStr:
    """The routing key held by ``env``; MissingRoutingKeyError when unset."""
    value = os.environ.get(env, "")
    if not value:
        raise MissingRoutingKeyError(f"no PagerDuty routing key: {env} is not set")
    return SecretStr(value)


def send_page(event: PageEvent, settings: PagerDutySettings | None = None) -> str:
    """Send ``event``; returns the dedup key PagerDuty acknowledged. Never logs the routing key."""
    settings = settings or PagerDutySettings()
    body = event.body(routing_key(event.routing_key_env))
    url = settings.api_url.rstrip("/") + "/v2/enqueue"
    logger.info("PagerDuty %s for %s via %s", event.action.value, event.dedup_key, event.routing_key_env)
    try:
        response = send_with_retries(
            "POST",
            url,
            vendor="PagerDuty",
            body=body,
            attempts=settings.attempts,
            timeout=settings.timeout_seconds,
        )
    except VendorUnavailableError as e:
        raise PagerDutyError(f"{event.action.value} {event.dedup_key}: {e}") from e
    if response.status_code != 202:
        raise PagerDutyError(
            f"{event.action.value} {event.dedup_key}: PagerDuty refused it ({response.status_code}): "
            f"{response.text[:200]}"
        )
    return str(response.json().get("dedup_key", event.dedup_key))
