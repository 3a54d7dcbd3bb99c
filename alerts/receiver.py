"""The alert receiver: a small FastAPI app in front of :class:`alerts.intake.Intake`.

``POST /alerts/{source}`` for cloudwatch (SNS), eventbridge, alertmanager, pagerduty and
generic; ``GET /healthz``; OpenAPI docs at ``/docs``. Every dependency with an effect (the
incident starter, the dead-letter store, SNS fetches) is injected, so tests need neither
Prefect nor the network. The body is read in chunks and reading stops at the size limit, so an
oversized request costs at most the limit in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from alerts.approval_routes import approvals_router
from alerts.dead_letters import DeadLetterStore
from alerts.fetch import fetch_sns_url
from alerts.intake import Intake, Outcome
from alerts.routing import Routing, load_routing
from alerts.settings import ReceiverSettings
from alerts.slack_interactions import slack_router
from alerts.sns_signature import CertFetcher, CertificateCache
from alerts.starter import IncidentStarter

RETRY_AFTER_SECONDS = 30


def create_app(
    settings: ReceiverSettings,
    *,
    starter: IncidentStarter,
    dead_letters: DeadLetterStore,
    routing: Routing | None = None,
    cert_fetcher: CertFetcher = fetch_sns_url,
    confirm_fetcher: CertFetcher = fetch_sns_url,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """Build the receiver app. ``routing`` defaults to ``settings.routing_file`` (or built-ins);
    ``clock`` is what SNS message timestamps are checked against."""
    intake = Intake(
        settings,
        routing if routing is not None else load_routing(settings.routing_file),
        starter=starter,
        dead_letters=dead_letters,
        certs=CertificateCache(cert_fetcher),
        confirm=confirm_fetcher,
        clock=clock,
    )
    app = FastAPI(
        title="Firebreak alert receiver",
        description="Receives alerts, verifies and normalises them, and starts one incident run per alert.",
        version="1",
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. It does not probe Prefect (a 503 on intake says that)."""
        return {"status": "ok"}

    if settings.slack_signing_secret is not None:  # Slack approvals (docs/approvals.md)
        app.include_router(slack_router(settings, read_body=_read_capped))
    app.include_router(approvals_router(settings, read_body=_read_capped))  # signed CLI answers

    @app.post("/alerts/{source}", response_model=Outcome)
    async def receive(source: str, request: Request) -> JSONResponse:
        """Receive one payload from cloudwatch (SNS), eventbridge, alertmanager, pagerduty or generic."""
        body = await _read_capped(request, settings.max_body_bytes)
        outcome = await run_in_threadpool(intake.handle, source, body, request.headers)
        return _answer(outcome)

    return app


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, or its first ``limit + 1`` bytes when it is longer (enough to refuse it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _answer(outcome: Outcome) -> JSONResponse:
    headers = {}
    if outcome.status_code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    elif outcome.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="firebreak"'
    return JSONResponse(outcome.model_dump(mode="json"), status_code=outcome.status_code, headers=headers)
