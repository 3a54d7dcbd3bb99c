"""A join: an alert that arrived while its service's incident was open, recorded on that run.

The receiver writes a join as a Prefect flow run input of the open incident run (key
``firebreak-join-<digest of the dedup key>``, value a :class:`Join` as JSON), so it is durable,
visible to every replica, and a re-delivery of the same occurrence is the same key: Prefect
answers 409 and the join stays one. The open run reads its joins back (``flows/joins.py``) and
records them in its own timeline, which keeps the timeline's single writer.

A run that took a join's region into its scope and settled it (recovered, or put in front of a
person) marks the join handled: an input ``firebreak-handled-<same digest>`` on the same run. A
re-delivery of an occurrence whose closed run never marked it handled is not an earlier join but
a region nobody acted on, and opens an incident (see alerts/prefect_starter.py).
"""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.models import Alert

JOIN_KEY_PREFIX = "firebreak-join-"
HANDLED_KEY_PREFIX = "firebreak-handled-"
JOIN_SENDER = "firebreak-receiver"


class Join(BaseModel):
    """One alert that joined an open incident instead of starting its own run."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="The flow run input key it is stored under (one per occurrence).")
    alert: Alert
    joined_at: AwareDatetime = Field(description="When the receiver recorded the join.")


def join_key(alert: Alert) -> str:
    """The input key of ``alert``'s occurrence: letters, digits and dashes, as Prefect requires.

    >>> join_key(alert).startswith(JOIN_KEY_PREFIX)
    True
    """
    return f"{JOIN_KEY_PREFIX}{_digest(alert)}"


def handled_key(alert: Alert) -> str:
    """The input key the run writes once it settled the region of ``alert``'s join.

    >>> handled_key(alert).removeprefix(HANDLED_KEY_PREFIX) == join_key(alert).removeprefix(JOIN_KEY_PREFIX)
    True
    """
    return f"{HANDLED_KEY_PREFIX}{_digest(alert)}"


def _digest(alert: Alert) -> str:
    return hashlib.sha256(alert.dedup_key.encode()).hexdigest()[:32]
