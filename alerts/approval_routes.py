"""``POST /approvals`` and ``GET /approvals``: approvers answer and read through the receiver.

Approvers need no Prefect credential. ``firebreak approve --receiver URL --key PATH`` sends its
signed statement here; the receiver checks it against the policy on its own host
(``FIREBREAK_POLICY_FILE``) with the flow's own check (flows/identity.py, ``check_proof``): the
run waits now, for the plan signed, before its deadline, and the signature is by the key the
policy lists for the approver. It records the answer on the run (a flow run input keyed by the
proof id, so the same proof sent again finds its key taken and changes nothing) and resumes the
run with it, as a Slack click is resumed (alerts/slack_interactions.py). The flow then checks
the answer in full (allowed approvers, M of N, the requester rule) and records the verdict.

``GET /approvals`` lists the waiting steps only to a request signed by a person the policy
lists (``Authorization: Firebreak-Signed TOKEN``, flows/signed_reads.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from alerts.errors import PrefectRejectedError, PrefectUnavailableError
from alerts.paused_runs import list_waiting, read_paused_step
from alerts.prefect_http import PrefectHttp
from alerts.settings import ReceiverSettings
from alerts.slack_clicks import PausedStep
from flows.identity import Channel, IdentityError, Statement, check_proof, read_proof
from flows.signed_reads import SCHEME, ReadRefusedError, check_read
from policies import Policy, default_policy, load_policy
from policies.approvals import Proof

log = logging.getLogger(__name__)

ANSWER_KEY_PREFIX = "firebreak-approval-"
ANSWER_SENDER = "firebreak-approvals"


class AnswerOutcome(StrEnum):
    """What became of one answer sent to ``POST /approvals``; the value is its HTTP status."""

    SENT = "sent"  # 200: the run was resumed with it; the flow now checks it against the policy
    MALFORMED = "malformed"  # 400: no signed answer in the body
    REFUSED = "refused"  # 403: the signature does not prove the approver, for this run and plan
    ENDED = "ended"  # 409: the step it answers is no longer waiting (or another plan, or late)
    REPLAYED = "replayed"  # 409: this very proof was received before
    UNAVAILABLE = "unavailable"  # 503: the Prefect API cannot be read now; send it again


STATUS = {
    AnswerOutcome.SENT: 200,
    AnswerOutcome.MALFORMED: 400,
    AnswerOutcome.REFUSED: 403,
    AnswerOutcome.ENDED: 409,
    AnswerOutcome.REPLAYED: 409,
    AnswerOutcome.UNAVAILABLE: 503,
}


class SignedAnswerBody(BaseModel):
    """The body of ``POST /approvals``: the signed statement (`firebreak approve --key`'s proof)
    and the reason, which is recorded in the timeline and not signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    proof: str = Field(min_length=1, max_length=4096)
    reason: str = Field(default="", max_length=2000)


class AnswerResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: AnswerOutcome
    detail: str
    flow_run_id: str | None = None
    approver: str | None = None


class ApprovalDesk:
    """Takes signed answers and signed reads against a Prefect API. ``clock`` is injectable."""

    def __init__(
        self,
        *,
        http: PrefectHttp,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._policy = policy
        self._clock = clock

    def answer(self, body: SignedAnswerBody) -> AnswerResult:
        """Check one signed answer and, when it proves its approver, resume the run with it."""
        try:
            statement = read_proof(body.proof).statement
        except IdentityError as e:
            return AnswerResult(outcome=AnswerOutcome.MALFORMED, detail=str(e))
        said = partial(AnswerResult, flow_run_id=statement.flow_run_id, approver=statement.approver)
        if statement.channel is not Channel.CLI:
            sign = "sign with `firebreak approve --key`"
            return said(outcome=AnswerOutcome.REFUSED, detail=f"a {statement.channel.value} proof: {sign}")
        now = self._clock()
        ended = _ended(read_paused_step(self._http, statement.flow_run_id), statement.plan_hash, now)
        if ended is not None:
            return said(outcome=AnswerOutcome.ENDED, detail=ended)
        check = check_proof(
            body.proof,
            policy=self._policy,
            flow_run_id=statement.flow_run_id,
            plan_hash=statement.plan_hash,
            now=now,
            used=set(),
        )
        if check.proof is not Proof.VERIFIED or check.proof_id is None:
            return said(outcome=AnswerOutcome.REFUSED, detail=check.detail)
        if not self._record(statement, check.proof_id, now):
            return said(outcome=AnswerOutcome.REPLAYED, detail="this signed answer was received before")
        if not self._resume(statement, body):
            return said(outcome=AnswerOutcome.ENDED, detail="the run did not take the answer (it moved on)")
        verb = "approved" if statement.approve else "rejected"
        return said(
            outcome=AnswerOutcome.SENT,
            detail=f"{statement.approver} {verb}: the run checks it against the policy and records it",
        )

    def _record(self, statement: Statement, proof_id: str, now: datetime) -> bool:
        """Record the answer on its run; False when its key was taken (the same proof before)."""
        record = {"approver": statement.approver, "approve": statement.approve, "at": now.isoformat()}
        body = {"key": ANSWER_KEY_PREFIX + proof_id, "value": json.dumps(record), "sender": ANSWER_SENDER}
        path = f"/flow_runs/{statement.flow_run_id}/input"
        return self._http.request("POST", path, body).status_code != 409

    def _resume(self, statement: Statement, body: SignedAnswerBody) -> bool:
        """Resume the run with the signed answer; False when Prefect did not take it."""
        run_input = {
            "approve": statement.approve,
            "approver": statement.approver,
            "reason": body.reason,
            "plan_hash": statement.plan_hash,
            "proof": body.proof,
        }
        path = f"/flow_runs/{statement.flow_run_id}/resume"
        response = self._http.request("POST", path, {"run_input": run_input})
        return response.status_code < 400 and str(response.json().get("status", "")).upper() == "ACCEPT"

    def waiting(self, authorization: str | None) -> tuple[int, Any]:
        """(HTTP status, body) of ``GET /approvals``: the list, only to a person the policy lists."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != SCHEME or not token:
            detail = f"sign the request: Authorization: {SCHEME} TOKEN (`firebreak pending --key`)"
            return 401, {"detail": detail}
        try:
            person = check_read(token.strip(), policy=self._policy, now=self._clock())
        except ReadRefusedError as e:
            return 403, {"detail": str(e)}
        log.info("approvals listed for %s", person)
        return 200, [step.model_dump(mode="json") for step in list_waiting(self._http)]


def _ended(step: PausedStep, signed_for: str, now: datetime) -> str | None:
    """Why a signed answer cannot answer the step that waits now, or None when it can."""
    if not step.paused or step.plan_hash is None:
        return "this step is no longer waiting for an approval; nothing changed"
    if step.plan_hash != signed_for:
        return f"the plan changed: it is now {step.plan_hash}, you signed {signed_for}; nothing changed"
    if step.deadline is not None and now >= step.deadline:
        return f"the deadline passed at {step.deadline:%H:%M:%S}; nothing changed"
    return None


def approvals_router(
    settings: ReceiverSettings,
    *,
    read_body: Callable[[Request, int], Any],
    http: PrefectHttp | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    """The ``/approvals`` routes, built when the receiver starts (the policy is read here)."""
    policy = default_policy() if settings.policy_file is None else load_policy(settings.policy_file)
    desk = ApprovalDesk(
        http=http or PrefectHttp(settings.prefect_api_url, auth=settings.prefect_auth()),
        policy=policy,
        clock=clock,
    )
    router = APIRouter()
    max_body_bytes = settings.max_body_bytes

    @router.post("/approvals", response_model=AnswerResult)
    async def send_answer(request: Request) -> JSONResponse:
        """An approver's signed answer (`firebreak approve --receiver URL --key PATH`)."""
        raw: bytes = await read_body(request, max_body_bytes)
        try:
            body = SignedAnswerBody.model_validate_json(raw)
        except ValidationError as e:
            detail = f"not a signed answer: {e.error_count()} error(s)"
            result = AnswerResult(outcome=AnswerOutcome.MALFORMED, detail=detail)
        else:
            result = await run_in_threadpool(_guarded, desk, body)
        log.info("approval answer %s: %s (%s)", result.flow_run_id, result.outcome.value, result.detail)
        return JSONResponse(result.model_dump(mode="json"), status_code=STATUS[result.outcome])

    @router.get("/approvals")
    async def waiting(request: Request) -> JSONResponse:
        """What waits for approval, to a request signed by a person the policy lists."""
        try:
            status, body = await run_in_threadpool(desk.waiting, request.headers.get("authorization"))
        except (PrefectUnavailableError, PrefectRejectedError) as e:
            status, body = 503, {"detail": str(e)}
        headers = {"WWW-Authenticate": SCHEME} if status == 401 else {}
        return JSONResponse(body, status_code=status, headers=headers)

    return router


def _guarded(desk: ApprovalDesk, body: SignedAnswerBody) -> AnswerResult:
    try:
        return desk.answer(body)
    except (PrefectUnavailableError, PrefectRejectedError) as e:
        return AnswerResult(outcome=AnswerOutcome.UNAVAILABLE, detail=str(e))
