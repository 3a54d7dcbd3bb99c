"""Read back what the Prefect server recorded: flow runs, their state history, counts.

Benchmarks take their timestamps from here (and from the incident timeline), not from their
own guesses, so every figure is what the system itself recorded.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel

from alerts.models import Alert
from flows.incident_run import incident_id_for

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


class PrefectReadError(RuntimeError):
    """The server did not answer as expected, or a run did not finish in time."""


class RunRecord(BaseModel):
    """One flow run as the server recorded it."""

    id: str
    state_type: str
    state_message: str | None
    created: AwareDatetime
    start_time: AwareDatetime | None
    end_time: AwareDatetime | None
    pending_at: AwareDatetime | None
    alert: Alert | None

    @property
    def incident_id(self) -> str:
        if self.alert is None:
            raise PrefectReadError(f"flow run {self.id} has no alert parameter")
        return incident_id_for(self.alert)


class PrefectApi:
    """A thin httpx client of the REST API (the same one the receiver's starter uses)."""

    def __init__(self, api_url: str) -> None:
        self._client = httpx.Client(base_url=api_url.rstrip("/"), timeout=30)

    def close(self) -> None:
        self._client.close()

    def run(self, flow_run_id: str) -> RunRecord:
        """The run, with the moment it went Pending (when a runner claimed it)."""
        run = self._json("GET", f"/flow_runs/{flow_run_id}")
        states = self._json("GET", "/flow_run_states/", params={"flow_run_id": flow_run_id})
        pending = [s["timestamp"] for s in states if s["type"] == "PENDING"]
        alert = run["parameters"].get("alert")
        return RunRecord(
            id=flow_run_id,
            state_type=run["state"]["type"],
            state_message=run["state"].get("message"),
            created=run["created"],
            start_time=run.get("start_time"),
            end_time=run.get("end_time"),
            pending_at=min(pending) if pending else None,
            alert=Alert.model_validate(alert) if alert else None,
        )

    def wait_terminal(self, flow_run_id: str, *, timeout: float, poll: float = 0.5) -> RunRecord:
        """Poll until the run is Completed/Failed/Cancelled/Crashed; raises after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.run(flow_run_id)
            if record.state_type in TERMINAL:
                return record
            if time.monotonic() > deadline:
                raise PrefectReadError(f"flow run {flow_run_id} still {record.state_type} after {timeout}s")
            time.sleep(poll)

    def deployment_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        """Every flow run of the deployment (paged), with its idempotency key."""
        runs: list[dict[str, Any]] = []
        while True:
            page = self._json(
                "POST",
                "/flow_runs/filter",
                json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200, "offset": len(runs)},
            )
            runs += page
            if len(page) < 200:
                return runs

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise PrefectReadError(f"{method} {path}: {e}") from e
        if response.status_code >= 400:
            raise PrefectReadError(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    """``end - start`` in seconds, or None when either is unknown."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
