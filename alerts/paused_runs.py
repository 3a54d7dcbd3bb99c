"""What the receiver reads of paused runs through the Prefect API: one step, or every waiting one.

Shared by the Slack route (a click answers the step it shows) and the approvals routes
(``POST /approvals`` answers a step, ``GET /approvals`` lists them). A run counts as waiting
when it is PAUSED and its form (the run input schema) is saved; a run paused a moment ago whose
form is not saved yet is seen on the next read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.prefect_http import PrefectHttp, checked, json_list
from alerts.slack_clicks import PausedStep
from policies.approvals import Identity

PAUSED_FILTER = {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}, "sort": "START_TIME_ASC"}


class WaitingStep(BaseModel):
    """A paused step as ``GET /approvals`` lists it (the fields of ``firebreak pending --json``)."""

    model_config = ConfigDict(frozen=True)

    flow_run_id: str
    flow_run_name: str
    kind: str = Field(description='"approval" or "human" (a human-only checklist).')
    pause_key: str
    description: str
    plan_hash: str | None = None
    identity: Identity = Identity.DECLARED
    deadline: AwareDatetime | None = None


def _input(http: PrefectHttp, run_id: str, key: str) -> Any | None:
    response = http.request("GET", f"/flow_runs/{run_id}/input/{key}")
    if response.status_code == 404:
        return None
    return json.loads(checked(response, f"read input {key} of flow run {run_id}").text)


def _waiting(http: PrefectHttp, run: dict[str, Any]) -> WaitingStep | None:
    state = run.get("state") or {}
    details = state.get("state_details") or {}
    keyset = details.get("run_input_keyset") or {}
    if state.get("type") != "PAUSED" or "schema" not in keyset:
        return None
    run_id = str(run["id"])
    schema = _input(http, run_id, keyset["schema"])
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties", {})
    description = _input(http, run_id, keyset["description"]) if "description" in keyset else None
    deadline = details.get("pause_timeout")
    return WaitingStep(
        flow_run_id=run_id,
        flow_run_name=str(run.get("name", "")),
        kind="approval" if "approve" in props else "human",
        pause_key=keyset["schema"],
        description=str(description or ""),
        plan_hash=props.get("plan_hash", {}).get("default"),
        identity=Identity(props.get("identity", {}).get("default", Identity.DECLARED)),
        deadline=datetime.fromisoformat(deadline) if deadline else None,
    )


def read_paused_step(http: PrefectHttp, run_id: str) -> PausedStep:
    """The step ``run_id`` waits on now; ``paused=False`` when it waits on none (or is unknown)."""
    response = http.request("GET", f"/flow_runs/{run_id}")
    if response.status_code in (404, 422):  # unknown, or not a run id at all
        return PausedStep(paused=False)
    step = _waiting(http, checked(response, f"read flow run {run_id}").json())
    if step is None:
        return PausedStep(paused=False)
    return PausedStep(paused=True, plan_hash=step.plan_hash, deadline=step.deadline)


def list_waiting(http: PrefectHttp, limit: int = 50) -> list[WaitingStep]:
    """Every paused step that waits for a human, oldest first."""
    body = {**PAUSED_FILTER, "limit": limit}
    runs = json_list(checked(http.request("POST", "/flow_runs/filter", body), "list paused flow runs"))
    return [step for run in runs if (step := _waiting(http, run)) is not None]
