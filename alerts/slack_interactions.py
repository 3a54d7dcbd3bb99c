"""``POST /slack/interactions``: Slack's button callback, verified, judged, and passed to the run.

The signature is checked first, over the raw body, with slack_sdk's ``SignatureVerifier``
(``FIREBREAK_SLACK_SIGNING_SECRET``, Slack's 5-minute timestamp window): a bad or stale one is
answered 401 and only a refusal line is logged. A verified click is answered 200 at once
(Slack wants an answer within 3 s) and handled in a background task: read the paused step from
Prefect, :func:`alerts.slack_clicks.judge` it, record it on the run (a flow run input keyed by
the click, so a replayed payload finds its key taken and changes nothing), and for a click
that counts resume the run with an answer whose proof is an attestation signed by
``FIREBREAK_ATTESTOR_KEY``; then Slack is told: ``chat.update`` of the message with who
decided, or a reply only the clicker sees saying why nothing changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, BackgroundTasks, Request, Response
from slack_sdk.signature import SignatureVerifier

from alerts.errors import PrefectRejectedError, PrefectUnavailableError
from alerts.paused_runs import read_paused_step
from alerts.prefect_http import PrefectHttp
from alerts.settings import ReceiverSettings
from alerts.slack_clicks import (
    Click,
    ClickOutcome,
    ClickRecord,
    Judgement,
    PausedStep,
    SlackPayloadError,
    judge,
    parse_click,
)
from flows.identity import IdentityError, attest_slack_answer, load_private_key
from flows.slack_message import Decided, decided_blocks, decided_text
from policies import Policy, default_policy, load_policy
from tasks.slack import SlackError, SlackMessage, SlackSettings, reply_privately, update_message

log = logging.getLogger(__name__)

CLICK_SENDER = "firebreak-slack"
WINDOW_SECONDS = 5 * 60  # SignatureVerifier's window; named here to tell stale from bad


class SlackInteractions:
    """Handles verified clicks against a Prefect API. ``clock`` is injectable for tests."""

    def __init__(
        self,
        *,
        http: PrefectHttp,
        policy: Policy,
        attestor: Ed25519PrivateKey,
        slack: SlackSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._policy = policy
        self._attestor = attestor
        self._slack = slack
        self._clock = clock

    def handle(self, click: Click) -> Judgement:
        """Judge, record, resume (when it counts) and tell Slack; returns what became of it."""
        run_id = click.value.flow_run_id
        now = self._clock()
        judgement = judge(click, self._step(run_id), policy=self._policy, now=now)
        if not self._record(click, judgement, now):
            judgement = Judgement(
                outcome=ClickOutcome.REPLAYED, reason="this click was received before; nothing changed"
            )
        if judgement.outcome is ClickOutcome.ANSWERED and judgement.approver is not None:
            judgement = self._resume(click, judgement.approver, now) or judgement
        log.info("Slack click on flow run %s: %s (%s)", run_id, judgement.outcome.value, judgement.reason)
        self._tell(click, judgement, now)
        return judgement

    def _step(self, run_id: str) -> PausedStep:
        return read_paused_step(self._http, run_id)

    def _record(self, click: Click, judgement: Judgement, now: datetime) -> bool:
        """Record the click on its run; False when its key was taken (the same click before)."""
        record = ClickRecord(
            slack_user=click.slack_user,
            approver=judgement.approver,
            approve=click.approve,
            outcome=judgement.outcome,
            reason=judgement.reason,
            plan_hash=click.value.plan_hash,
            at=now,
        )
        body = {"key": click.key, "value": record.model_dump_json(), "sender": CLICK_SENDER}
        response = self._http.request("POST", f"/flow_runs/{click.value.flow_run_id}/input", body)
        if response.status_code == 409:
            return False
        if response.status_code >= 400:  # an unknown run: nowhere to record, and nothing to resume
            log.warning(
                "cannot record Slack click on flow run %s: HTTP %s",
                click.value.flow_run_id,
                response.status_code,
            )
        return True

    def _resume(self, click: Click, approver: str, now: datetime) -> Judgement | None:
        """Resume the run with the attested answer; a Judgement only when Prefect refused it."""
        proof = attest_slack_answer(
            approver=approver,
            slack_user=click.slack_user,
            flow_run_id=click.value.flow_run_id,
            plan_hash=click.value.plan_hash,
            approve=click.approve,
            at=now,
            key=self._attestor,
        )
        run_input = {
            "approve": click.approve,
            "approver": approver,
            "reason": f"answered in Slack by {click.slack_user}",
            "plan_hash": click.value.plan_hash,
            "identity": "verified",
            "proof": proof,
        }
        path = f"/flow_runs/{click.value.flow_run_id}/resume"
        response = self._http.request("POST", path, {"run_input": run_input})
        if response.status_code >= 400 or str(response.json().get("status", "")).upper() != "ACCEPT":
            return Judgement(
                outcome=ClickOutcome.ENDED,
                reason="the run did not take the answer (it moved on); nothing changed",
            )
        return None

    def _tell(self, click: Click, judgement: Judgement, now: datetime) -> None:
        try:
            if judgement.outcome is ClickOutcome.ANSWERED and judgement.approver is not None:
                decided = Decided(
                    headline=click.headline,
                    approver=judgement.approver,
                    slack_user=click.slack_user,
                    approve=click.approve,
                    at=now,
                )
                message = SlackMessage(channel=click.channel, ts=click.ts)
                update_message(message, decided_text(decided), decided_blocks(decided), self._slack)
            else:
                reply_privately(
                    click.response_url, f"Firebreak: {judgement.outcome.value}: {judgement.reason}"
                )
        except SlackError as e:
            log.warning("could not tell Slack about the click on flow run %s: %s", click.value.flow_run_id, e)


def _refusal(body: bytes, headers: dict[str, str], verifier: SignatureVerifier) -> str | None:
    """Why the callback is not from Slack, or None when its signature verifies."""
    stamp = headers.get("x-slack-request-timestamp", "")
    if not stamp.isdigit():
        return "no or malformed X-Slack-Request-Timestamp"
    if abs(time.time() - int(stamp)) > WINDOW_SECONDS:
        return "stale timestamp (more than 5 minutes off)"
    if not verifier.is_valid(body=body, timestamp=stamp, signature=headers.get("x-slack-signature")):
        return "bad signature"
    return None


class SlackConfigError(ValueError):
    """The receiver is set up for Slack (a signing secret) but cannot attest answers."""


def slack_router(settings: ReceiverSettings, *, read_body: Callable[[Request, int], Any]) -> APIRouter:
    """The ``/slack/interactions`` route, built when the receiver starts (the policy and the
    attestor key are read here); ``read_body`` is the receiver's capped body reader."""
    if settings.slack_signing_secret is None or settings.attestor_key is None:
        raise SlackConfigError(
            "Slack interactions need FIREBREAK_SLACK_SIGNING_SECRET and FIREBREAK_ATTESTOR_KEY"
        )
    try:
        attestor = load_private_key(settings.attestor_key)
    except IdentityError as e:
        raise SlackConfigError(f"FIREBREAK_ATTESTOR_KEY: {e}") from e
    policy = default_policy() if settings.policy_file is None else load_policy(settings.policy_file)
    interactions = SlackInteractions(
        http=PrefectHttp(settings.prefect_api_url, auth=settings.prefect_auth()),
        policy=policy,
        attestor=attestor,
        slack=SlackSettings(),
    )
    router = APIRouter()
    verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())
    max_body_bytes = settings.max_body_bytes

    @router.post("/slack/interactions")
    async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
        """Slack's interactivity Request URL: button clicks on approval requests."""
        body: bytes = await read_body(request, max_body_bytes)
        refusal = _refusal(body, {k.lower(): v for k, v in request.headers.items()}, verifier)
        if refusal is not None:
            log.warning("Slack callback refused: %s", refusal)
            return Response(status_code=401)
        try:
            click = parse_click(body)
        except SlackPayloadError as e:
            log.warning("Slack callback ignored: %s", e)
            return Response(status_code=200)
        background.add_task(_handle_logged, interactions, click)
        return Response(status_code=200)

    return router


def _handle_logged(interactions: SlackInteractions, click: Click) -> None:
    """Run :meth:`SlackInteractions.handle` after the answer: its failures can only be logged."""
    try:
        interactions.handle(click)
    except (PrefectUnavailableError, PrefectRejectedError, ValueError) as e:
        log.warning("Slack click on flow run %s not handled: %s", click.value.flow_run_id, e)
