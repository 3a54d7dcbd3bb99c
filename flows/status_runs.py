"""Status page posts as flow runs of their own: started by the incident run, never waited for.

A post waits for two comms leads (30 minutes by default); the incident run must not. So the
incident run starts each post as a run of the ``status-page-update`` deployment
(:data:`POST_DEPLOYMENT`, ``timeout=0``: it returns once the run is created) and goes on. The
post run records what became of it as a flow run input on its own run (:class:`PostOutcome`,
key :data:`OUTCOME_KEY`); the incident run, the only writer of its timeline, copies outcomes
into it when it drafts the next status and before its report (:func:`record_post_outcomes`),
and a later post run reads the earlier one's outcome to update the same page incident, in
order (:func:`wait_for_outcome`).
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.timeline import Stage, Timeline
from tasks.statuspage import IncidentStatus

POST_FLOW = "status-page-update"
POST_DEPLOYMENT = f"{POST_FLOW}/post"
OUTCOME_KEY = "firebreak-statuspage-outcome"
STARTED = "statuspage-started"
POSTED = "statuspage-posted"
NOT_SENT = "statuspage-not-sent"
FAILED = "statuspage-failed"
PENDING = "statuspage-pending"


class StatusPageRunError(RuntimeError):
    """A post run could not be started (no deployment, or Prefect did not answer)."""


class PostResult(StrEnum):
    POSTED = "posted"
    NOT_SENT = "not_sent"
    FAILED = "failed"


EVENTS = {PostResult.POSTED: POSTED, PostResult.NOT_SENT: NOT_SENT, PostResult.FAILED: FAILED}


class PostOutcome(BaseModel):
    """What one post run did, as it records it on its own run."""

    model_config = ConfigDict(frozen=True)

    status: IncidentStatus
    result: PostResult
    message: str = Field(description="The line the incident's timeline shows.")
    page_incident: str | None = Field(default=None, description="Statuspage's incident id, once created.")
    created: bool = False
    update: dict[str, Any] = Field(default_factory=dict, description="The draft, as posted or not.")


def start_post(parameters: dict[str, Any], *, name: str) -> UUID:
    """Create a run of the post deployment and return its id without waiting for it."""
    try:
        run = run_deployment(
            POST_DEPLOYMENT, parameters=parameters, timeout=0, as_subflow=False, flow_run_name=name
        )
    except ObjectNotFound as e:
        raise StatusPageRunError(f"deployment {POST_DEPLOYMENT} not found (prefect.yaml deploys it)") from e
    except (httpx.HTTPError, PrefectHTTPStatusError) as e:
        raise StatusPageRunError(f"Prefect did not start {POST_DEPLOYMENT}: {e}") from e
    return run.id  # type: ignore[union-attr]  # the sync call returns a FlowRun, not a coroutine


def save_outcome(flow_run_id: UUID | str, outcome: PostOutcome) -> None:
    """Record ``outcome`` on the post run itself, where the incident run and later posts read it."""
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(UUID(str(flow_run_id)), OUTCOME_KEY, outcome.model_dump_json())


def read_outcome(flow_run_id: UUID | str) -> tuple[PostOutcome | None, bool]:
    """The post run's outcome if recorded, and whether the run is final.

    A final run without an outcome crashed or was cancelled before it could say."""
    run_id = UUID(str(flow_run_id))
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        stored = client.filter_flow_run_input(run_id, key_prefix=OUTCOME_KEY, limit=1, exclude_keys=set())
    final = run.state is not None and run.state.is_final()
    try:
        return (PostOutcome.model_validate_json(stored[0].value) if stored else None), final
    except ValidationError:
        return None, final


def wait_for_outcome(flow_run_id: UUID | str, *, poll_seconds: float) -> PostOutcome | None:
    """Wait until the earlier post run is final; its outcome, or None if it recorded none."""
    while True:
        outcome, final = read_outcome(flow_run_id)
        if outcome is not None or final:
            return outcome
        time.sleep(poll_seconds)


def in_flight(timeline: Timeline) -> list[str]:
    """Post runs this incident started whose outcome its timeline does not hold yet, oldest first."""
    done = {
        str(e.data["post_run"])
        for e in timeline.entries
        if e.event in EVENTS.values() and "post_run" in e.data
    }
    return [str(e.data["post_run"]) for e in timeline.events(STARTED) if str(e.data["post_run"]) not in done]


def started_status(timeline: Timeline, post_run: str) -> IncidentStatus:
    started = next(e for e in timeline.events(STARTED) if str(e.data["post_run"]) == post_run)
    return IncidentStatus(started.data["status"])


def record_post_outcomes(timeline: Timeline, stage: Stage, *, report: bool = False) -> None:
    """Copy the outcomes of the post runs in flight into the incident's timeline.

    With ``report``, a post still waiting gets a ``statuspage-pending`` entry naming its run,
    so the report says it was not decided yet. Prefect being unreachable is recorded, not
    fatal: the outcome stays on the post run."""
    for post_run in in_flight(timeline):
        status = started_status(timeline, post_run)
        try:
            outcome, final = read_outcome(post_run)
        except (httpx.HTTPError, PrefectHTTPStatusError, ObjectNotFound) as e:
            timeline.add(stage, PENDING, f"status page {status.value}: run {post_run} unreadable: {e}")
            continue
        if outcome is not None:
            timeline.add(
                stage,
                EVENTS[outcome.result],
                outcome.message,
                post_run=post_run,
                status=outcome.status.value,
                page_incident=outcome.page_incident,
                created=outcome.created,
                update=outcome.update,
            )
        elif final:
            message = (
                f"status page {status.value}: run {post_run} ended without an outcome: nothing known posted"
            )
            timeline.add(stage, FAILED, message, post_run=post_run, status=status.value)
        elif report:
            message = f"status page {status.value}: still waiting for approval in flow run {post_run}"
            timeline.add(stage, PENDING, message, post_run=post_run, status=status.value)
