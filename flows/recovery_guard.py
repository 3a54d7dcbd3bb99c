"""A recovery gives way to a new incident of its service.

``recover`` undoes emergency measures step by step. When a new alert for the same service and
environment opens an incident meanwhile, moving traffic back or re-enabling a flag would act
against that incident. So before each step the recovery looks for an open incident run of its
service (the receiver tags them, alerts/open_incident.py) and, when there is one, stops there:
the measures still in place stay, its timeline says why, and the new incident reads them from
the shared records as Firebreak's own (flows/own_changes.py).

The recover run tags itself with its service's tags and ``firebreak.recovery``, so a person (or
a filter) finds the recoveries of a service as they find its incidents.
"""

from __future__ import annotations

import logging
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.runtime import flow_run

from alerts.models import Alert
from alerts.open_incident import incident_tags

log = logging.getLogger(__name__)

INCIDENT_FLOW = "incident-response"
RECOVERY_TAG = "firebreak.recovery"
FINAL = [StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED]


def tag_recovery(alert: Alert) -> None:
    """Add the service's tags and ``firebreak.recovery`` to this recover run; a failure is logged."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    try:
        with get_client(sync_client=True) as client:
            current = client.read_flow_run(UUID(str(run_id))).tags
            wanted = [*incident_tags(alert), RECOVERY_TAG]
            client.update_flow_run(UUID(str(run_id)), tags=list(dict.fromkeys([*current, *wanted])))
    except httpx.HTTPError as e:
        log.warning("recover run %s not tagged: %s", run_id, e)


def open_incident(alert: Alert) -> str | None:
    """The open incident run of ``alert``'s service and environment, named, or None."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[INCIDENT_FLOW])),
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=incident_tags(alert)),
                state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=FINAL)),
            ),
            limit=1,
        )
    if not runs:
        return None
    found = runs[0]
    return f"incident run {found.id} ({found.name}) is open for {alert.service} ({alert.environment})"
