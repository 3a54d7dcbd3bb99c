"""Paused steps seen from outside the flow: list what waits for a human, and answer it.

Used by ``firebreak pending`` / ``firebreak approve`` and by drills' scripted responders. It
goes through Prefect's resume API, exactly as the UI's Resume form does, and checks the
server's verdict: an invalid answer comes back as HTTP 200 with status REJECT, not an error.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from pydantic import BaseModel, Field

from flows.identity import Channel
from flows.signed_answers import sign_answer
from policies.approvals import Identity


class ResumeRefusedError(RuntimeError):
    """Prefect did not accept the answer (invalid input, run not paused, unknown run)."""


class PendingStep(BaseModel):
    """A flow run paused for a human, with what it asks."""

    flow_run_id: UUID
    flow_run_name: str
    kind: str  # "approval" or "human"
    pause_key: str = Field(description="Unique per pause: a re-asked question is a new step.")
    description: str
    plan_hash: str | None = None
    identity: Identity = Field(default=Identity.DECLARED, description="What the rule accepts as proof.")
    schema_: dict[str, Any] = {}


def _keyset(run: FlowRun) -> dict[str, str] | None:
    if run.state is None or run.state.state_details.run_input_keyset is None:
        return None
    return dict(run.state.state_details.run_input_keyset)


def pending_steps(limit: int = 50) -> list[PendingStep]:
    """Every paused flow run that waits for input, oldest first."""
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    steps: list[PendingStep] = []
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=paused, limit=limit):
            keyset = _keyset(run)
            if keyset is None:
                continue
            try:
                schema = json.loads(client.read_flow_run_input(run.id, keyset["schema"]))
            except httpx.HTTPStatusError:
                # Paused a moment ago and its form not saved yet, or resumed meanwhile: the
                # next look will see it as it settles.
                continue
            try:
                description = json.loads(client.read_flow_run_input(run.id, keyset["description"]))
            except httpx.HTTPStatusError:  # a pause without a description is still pending
                description = ""
            props = schema.get("properties", {})
            steps.append(
                PendingStep(
                    flow_run_id=run.id,
                    flow_run_name=run.name,
                    kind="approval" if "approve" in props else "human",
                    pause_key=keyset["schema"],
                    description=str(description),
                    plan_hash=props.get("plan_hash", {}).get("default"),
                    identity=Identity(props.get("identity", {}).get("default", Identity.DECLARED)),
                    schema_=schema,
                )
            )
    return steps


def answer_step(flow_run_id: UUID, run_input: dict[str, Any]) -> None:
    """Resume a paused run with ``run_input``; raise ResumeRefusedError unless Prefect accepts."""
    with get_client(sync_client=True) as client:
        try:
            result = client.resume_flow_run(flow_run_id, run_input=run_input)
        except Exception as e:  # the server answers 500 for an unknown run id
            raise ResumeRefusedError(f"cannot resume flow run {flow_run_id}: {e}") from e
    if str(result.status.value).upper() != "ACCEPT":
        reason = getattr(result.details, "reason", "") or result.status.value
        raise ResumeRefusedError(f"Prefect refused the answer for {flow_run_id}: {reason}")


def approval_input(
    step: PendingStep,
    *,
    approver: str,
    approve: bool,
    reason: str,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The run input of an approval answer, bound to the plan hash the step shows; with
    ``key``, signed by the approver (approver, run, plan hash, decision, now), which proves
    their identity to a rule that needs it."""
    if step.plan_hash is None:
        raise ResumeRefusedError(f"flow run {step.flow_run_id} is not waiting for an approval")
    run_input: dict[str, Any] = {
        "approve": approve, "approver": approver, "reason": reason, "plan_hash": step.plan_hash
    }
    if key is not None:
        run_input["proof"] = sign_answer(
            approver=approver,
            flow_run_id=str(step.flow_run_id),
            plan_hash=step.plan_hash,
            approve=approve,
            key=key,
            channel=Channel.CLI,
        )
    return run_input


def human_input(*, operator: str, done: bool, notes: str) -> dict[str, Any]:
    return {"done": done, "operator": operator, "notes": notes}
