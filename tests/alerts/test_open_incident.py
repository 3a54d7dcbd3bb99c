from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.models import Alert
from alerts.open_incident import Action, IncidentRun, RunState, incident_tags, place, successor_key

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
MAX_OPEN = timedelta(minutes=240)


def alert(fingerprint: str = "checkout-prod-error-rate", onset: int = 0) -> Alert:
    return Alert(
        source="generic",
        fingerprint=fingerprint,
        service="checkout",
        environment="prod",
        name=fingerprint,
        starts_at=NOW - timedelta(minutes=30 - onset),
    )


def run(run_id: str, state: RunState, *, age_minutes: float, started_by: Alert | None = None) -> IncidentRun:
    return IncidentRun(
        id=run_id,
        state=state,
        created=NOW - timedelta(minutes=age_minutes),
        dedup_key=started_by.dedup_key if started_by else None,
    )


def test_a_second_alarm_of_the_service_joins_its_open_run() -> None:
    error_rate, latency = alert(), alert("checkout-prod-latency")
    runs = [run("r1", RunState.RUNNING, age_minutes=5, started_by=error_rate)]
    placement = place(latency, runs, now=NOW, max_open=MAX_OPEN)
    assert placement.action is Action.JOIN
    assert placement.run is not None and placement.run.id == "r1"


@pytest.mark.parametrize(
    "state", [RunState.SCHEDULED, RunState.PENDING, RunState.PAUSED, RunState.CANCELLING]
)
def test_every_non_final_state_is_open(state: RunState) -> None:
    runs = [run("r1", state, age_minutes=5, started_by=alert())]
    assert place(alert(onset=5), runs, now=NOW, max_open=MAX_OPEN).action is Action.JOIN


def test_the_alert_that_started_a_run_gets_it_again_even_when_final() -> None:
    first = alert()
    runs = [run("r1", RunState.COMPLETED, age_minutes=5, started_by=first)]
    placement = place(first, runs, now=NOW, max_open=MAX_OPEN)
    assert placement.action is Action.EXISTING
    assert placement.run is not None and placement.run.id == "r1"


@pytest.mark.parametrize("state", [RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED, RunState.CRASHED])
def test_after_a_final_run_a_refire_creates_the_successor(state: RunState) -> None:
    runs = [run("r1", state, age_minutes=5, started_by=alert())]
    placement = place(alert(onset=10), runs, now=NOW, max_open=MAX_OPEN)
    assert placement.action is Action.CREATE
    assert placement.idempotency_key == "firebreak-incident:checkout:prod:after:r1"


def test_a_run_older_than_the_max_age_is_not_open_even_if_running() -> None:
    runs = [run("stuck", RunState.RUNNING, age_minutes=241, started_by=alert())]
    placement = place(alert(onset=10), runs, now=NOW, max_open=MAX_OPEN)
    assert placement.action is Action.CREATE
    assert placement.idempotency_key == successor_key(alert(), runs[0])


def test_the_first_incident_of_a_service_has_a_fixed_key_so_racing_replicas_agree() -> None:
    one, other = (
        place(alert(), [], now=NOW, max_open=MAX_OPEN),
        place(alert("x"), [], now=NOW, max_open=MAX_OPEN),
    )
    assert one.idempotency_key == other.idempotency_key == "firebreak-incident:checkout:prod:after:none"


def test_the_newest_open_run_is_joined() -> None:
    runs = [
        run("new", RunState.RUNNING, age_minutes=1),
        run("old", RunState.RUNNING, age_minutes=300),
    ]
    placement = place(alert(), runs, now=NOW, max_open=MAX_OPEN)
    assert placement.run is not None and placement.run.id == "new"


def test_tags_name_service_and_environment() -> None:
    assert incident_tags(alert()) == ["firebreak.service:checkout", "firebreak.env:prod"]


def _api_run(**overrides: Any) -> dict[str, Any]:
    return {"id": "r1", "created": "2026-11-03T11:55:00Z", "state": {"type": "PAUSED"}, **overrides}


def test_from_api_reads_state_age_and_the_starting_alert() -> None:
    first = alert()
    parsed = IncidentRun.from_api(_api_run(parameters={"alert": first.model_dump(mode="json")}))
    assert parsed == IncidentRun(
        id="r1", state=RunState.PAUSED, created=NOW - timedelta(minutes=5), dedup_key=first.dedup_key
    )


def test_from_api_tolerates_a_run_without_an_alert_or_state() -> None:
    parsed = IncidentRun.from_api(_api_run(state=None, parameters={"alert": {"not": "an alert"}}))
    assert parsed.state is RunState.SCHEDULED and parsed.dedup_key is None
