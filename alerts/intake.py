"""The intake pipeline, independent of HTTP: size, source, auth, parse, route, deliver.

Every refusal maps to a 4xx and every payload that starts no incident is logged with its
reason and kept as a dead letter while the store has room for its standing (see
:mod:`alerts.dead_letters`), so the receiver never answers 500 and never drops anything
without saying so. When the incident starter is unavailable the alert is kept (retryable) and
the answer is 503, so the sender retries as well; Prefect's idempotency key makes the double
delivery harmless. A refused sender is told the status, not the reason (``SENDER_DETAIL``);
the reason is in the log and the letter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from alerts.auth import SENDER_DETAIL, authenticate
from alerts.dead_letters import DeadLetterStore, Reason, letter
from alerts.errors import (
    AlertParseError,
    AuthError,
    DeadLetterError,
    FetchError,
    PrefectUnavailableError,
    StarterError,
    UnknownSourceError,
)
from alerts.models import Alert, AlertStatus
from alerts.routing import Routing
from alerts.settings import ReceiverSettings
from alerts.sns_signature import CertificateCache
from alerts.sources import parse_payload, source_named
from alerts.starter import IncidentStarter, StartedRun

log = logging.getLogger(__name__)

KEPT_BODY_OF_OVERSIZED = 4096
_RUNNER_PROBLEM = {
    Reason.PREFECT_UNAVAILABLE: "the incident runner is unavailable",
    Reason.PREFECT_REJECTED: "the incident runner refused the alert",
}


class Outcome(BaseModel):
    """What happened to one request; the receiver sends it back as the JSON answer."""

    status_code: int
    detail: str
    started: list[StartedRun] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list, description="Fingerprints recorded as resolved.")
    ignored: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list, description="Dead-letter ids.")


def deliver(alert: Alert, starter: IncidentStarter) -> StartedRun | None:
    """Start the incident of a firing alert, or record a resolved one. Raises StarterError."""
    if alert.status is AlertStatus.RESOLVED:
        starter.record_resolved(alert)
        return None
    return starter.start(alert)


class Intake:
    """One configured pipeline; ``handle`` is safe to call from many threads at once."""

    def __init__(
        self,
        settings: ReceiverSettings,
        routing: Routing,
        *,
        starter: IncidentStarter,
        dead_letters: DeadLetterStore,
        certs: CertificateCache,
        confirm: Callable[[str], bytes],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.routing = routing
        self.starter = starter
        self.dead_letters = dead_letters
        self.certs = certs
        self.confirm = confirm
        self.clock = clock

    def handle(self, source_name: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """Process one request to ``POST /alerts/{source_name}``."""
        keep = _Keeper(self.dead_letters, source_name, body, headers)
        if len(body) > self.settings.max_body_bytes:
            detail = f"body is over the {self.settings.max_body_bytes}-byte limit"
            keep.body = body[:KEPT_BODY_OF_OVERSIZED]
            return keep.refuse(413, Reason.TOO_LARGE, detail)
        try:
            source = source_named(source_name)
            authenticate(source, body, headers, self.settings, self.certs, now=self.clock())
            keep.authenticated = True
            result = parse_payload(source, body, self.routing)
        except UnknownSourceError as e:
            return keep.refuse(404, Reason.UNKNOWN_SOURCE, str(e))
        except AuthError as e:
            reason = Reason.UNAUTHORIZED if e.status_code == 401 else Reason.FORBIDDEN
            return keep.refuse(e.status_code, reason, str(e), answer=SENDER_DETAIL[e.status_code])
        except AlertParseError as e:
            return keep.refuse(400, Reason.MALFORMED, str(e))

        outcome = Outcome(status_code=200, detail="accepted", ignored=result.ignored)
        if result.subscribe_url is not None:
            try:
                self.confirm(result.subscribe_url)
            except FetchError as e:
                answer = "the SNS subscription could not be confirmed"
                return keep.refuse(503, Reason.SNS_CONFIRM_FAILED, str(e), answer=answer, retryable=True)
            log.info("confirmed SNS subscription via %s", result.subscribe_url.split("?")[0])
            outcome.detail = "SNS subscription confirmed"
        if result.ignored:
            keep.add(outcome, Reason.NOT_AN_INCIDENT, "; ".join(result.ignored))
        for alert in result.alerts:
            self._deliver(alert, outcome, keep)
        return outcome

    def _deliver(self, alert: Alert, outcome: Outcome, keep: _Keeper) -> None:
        if not alert.routable:
            detail = f"alert {alert.name!r} ({alert.fingerprint}) maps to no known service/environment"
            keep.add(outcome, Reason.UNROUTABLE, detail, alert=alert)
            return
        try:
            run = deliver(alert, self.starter)
        except StarterError as e:
            reason = (
                Reason.PREFECT_UNAVAILABLE
                if isinstance(e, PrefectUnavailableError)
                else Reason.PREFECT_REJECTED
            )
            kept = keep.add(outcome, reason, str(e), alert=alert, retryable=True)
            # Prefect's address and answer stay in the log and the letter, not in the answer.
            said = "kept for retry" if kept else "not kept (no room for it): send it again later"
            outcome.status_code, outcome.detail = 503, f"{said}: {_RUNNER_PROBLEM[reason]}"
            return
        if run is None:
            outcome.resolved.append(alert.fingerprint)
        else:
            outcome.started.append(run)


class _Keeper:
    """Writes the dead letters of one request; ``authenticated`` once the sender proved itself."""

    def __init__(self, store: DeadLetterStore, source: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.store = store
        self.source = source
        self.body = body
        self.headers = headers
        self.authenticated = False

    def refuse(
        self,
        status_code: int,
        reason: Reason,
        detail: str,
        *,
        answer: str | None = None,
        retryable: bool = False,
    ) -> Outcome:
        """Keep the request; ``answer`` (default: ``detail``) is what the sender is told."""
        outcome = Outcome(status_code=status_code, detail=answer or detail)
        self.add(outcome, reason, detail, retryable=retryable)
        return outcome

    def add(
        self,
        outcome: Outcome,
        reason: Reason,
        detail: str,
        *,
        alert: Alert | None = None,
        retryable: bool = False,
    ) -> bool:
        """Keep a letter; True when it was written (its id is then in ``outcome.kept``)."""
        dead = letter(
            self.source,
            reason,
            detail,
            body=self.body,
            headers=self.headers,
            alert=alert,
            retryable=retryable,
            authenticated=self.authenticated,
        )
        try:
            path = self.store.put(dead)
        except DeadLetterError as e:
            log.error("could not keep %s payload (%s: %s): %s", self.source, reason, detail, e)
            return False
        if path is None:
            log.warning("did not keep %s payload (%s, store full): %s", self.source, reason, detail)
            return False
        log.warning("kept %s payload (%s): %s", self.source, reason, detail)
        if dead.id not in outcome.kept:
            outcome.kept.append(dead.id)
        return True
