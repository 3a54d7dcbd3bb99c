"""Where an alert goes: its own earlier run, the open incident of its service, or a new run. Pure.

One open incident per (service, environment): a second alarm of the service, or the same alarm
firing again, joins the open run instead of starting a competing mitigation. The starter reads
the service's most recent incident runs (tagged :func:`incident_tags`, newest first) and
:func:`place` decides, in this order:

1. a run started by this very occurrence (same ``dedup_key``) is its answer, whatever its state;
2. else the newest *open* run (not Completed, Failed, Cancelled or Crashed, and created less
   than ``max_open`` ago: a dead run never swallows later alerts) is joined;
3. else a new run is created with :func:`successor_key` as its idempotency key.

The successor key names the run it follows (the newest run seen, or none), so receiver replicas
that race to open an incident for the same service create the same run: Prefect keeps one run
per idempotency key, the loser gets that run back and joins it. Nothing is locked, so nothing
can stay locked when a receiver or the server dies mid-way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from alerts.models import Alert

SERVICE_TAG = "firebreak.service:"
ENVIRONMENT_TAG = "firebreak.env:"


class RunState(StrEnum):
    """Prefect's state types; the last four are final."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED, RunState.CRASHED})


class IncidentRun(BaseModel):
    """What placement needs of one incident flow run, as the Prefect API returns it."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: RunState
    created: AwareDatetime
    dedup_key: str | None = Field(description="The dedup key of the alert that started the run.")

    @classmethod
    def from_api(cls, run: dict[str, Any]) -> IncidentRun:
        """From a ``/flow_runs`` answer; a run without a state counts as Scheduled."""
        state = run.get("state") or {}
        alert = (run.get("parameters") or {}).get("alert")
        try:
            dedup_key = Alert.model_validate(alert).dedup_key if isinstance(alert, dict) else None
        except ValidationError:  # a run made by hand with some other parameter: not any alert's
            dedup_key = None
        return cls(
            id=str(run["id"]),
            state=RunState(state.get("type", RunState.SCHEDULED)),
            created=run["created"],
            dedup_key=dedup_key,
        )

    def is_open(self, now: datetime, max_open: timedelta) -> bool:
        """Not final, and younger than ``max_open``."""
        return not self.state.final and now - self.created < max_open

    def recently_closed(self, now: datetime, max_open: timedelta) -> bool:
        """Final, and younger than ``max_open``: an occurrence it absorbed may be re-delivered."""
        return self.state.final and now - self.created < max_open


class Action(StrEnum):
    EXISTING = "existing"
    JOIN = "join"
    CREATE = "create"


class Placement(BaseModel):
    """The decision for one alert: the run it maps to or joins, or the key to create one with."""

    model_config = ConfigDict(frozen=True)

    action: Action
    run: IncidentRun | None = Field(default=None, description="For existing and join.")
    idempotency_key: str | None = Field(default=None, description="For create.")


def incident_tags(alert: Alert) -> list[str]:
    """The tags an incident run carries so the runs of its service and environment can be found."""
    return [f"{SERVICE_TAG}{alert.service}", f"{ENVIRONMENT_TAG}{alert.environment}"]


def successor_key(alert: Alert, newest: IncidentRun | None) -> str:
    """The idempotency key of the run that opens the next incident after ``newest``."""
    after = newest.id if newest is not None else "none"
    return f"firebreak-incident:{alert.service}:{alert.environment}:after:{after}"


def place(alert: Alert, runs: list[IncidentRun], *, now: datetime, max_open: timedelta) -> Placement:
    """Decide where ``alert`` goes, given its service's incident runs, newest first."""
    own = next((r for r in runs if r.dedup_key == alert.dedup_key), None)
    if own is not None:
        return Placement(action=Action.EXISTING, run=own)
    open_run = next((r for r in runs if r.is_open(now, max_open)), None)
    if open_run is not None:
        return Placement(action=Action.JOIN, run=open_run)
    newest = runs[0] if runs else None
    return Placement(action=Action.CREATE, idempotency_key=successor_key(alert, newest))
