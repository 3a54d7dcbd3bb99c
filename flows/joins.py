"""The open incident run's side of joins: the alerts the receiver recorded on this run.

While an incident is open, a second alert of its service and environment does not start a run:
the receiver records it on the open run as a flow run input (see :mod:`alerts.joins`). The run
calls :func:`take_new_joins` at its stage boundaries and writes each new join into its own
timeline, so the timeline keeps one writer. ``seen`` holds the keys already recorded (rebuilt
from the timeline after a re-run), and Prefect leaves them out of the answer.
"""

from __future__ import annotations

import logging
from uuid import UUID

from prefect.client.orchestration import get_client
from pydantic import ValidationError

from alerts.joins import JOIN_KEY_PREFIX, Join

log = logging.getLogger(__name__)

MAX_JOINS_READ = 200


def take_new_joins(flow_run_id: UUID | str, seen: set[str]) -> list[Join]:
    """The joins on ``flow_run_id`` whose keys are not in ``seen``, oldest first; adds them to ``seen``.

    An input under the join prefix that is not a Join (not written by the receiver) is logged
    and marked seen: it must not stop an incident that is mitigating.

    >>> joins = take_new_joins(flow_run_id, seen)  # e.g. timeline.add(..., "alert_joined", ...)
    """
    with get_client(sync_client=True) as client:
        inputs = client.filter_flow_run_input(
            UUID(str(flow_run_id)), key_prefix=JOIN_KEY_PREFIX, limit=MAX_JOINS_READ, exclude_keys=seen
        )
    joins = []
    for stored in inputs:
        seen.add(stored.key)
        try:
            joins.append(Join.model_validate_json(stored.value))
        except ValidationError as e:
            log.warning("flow run %s input %s is not a join, skipped: %s", flow_run_id, stored.key, e)
    return sorted(joins, key=lambda j: j.joined_at)
