"""One open incident per service and environment, against a real Prefect server.

Two receiver replicas (two apps, each with the production starter and its own recent-runs
memory, as ``firebreak serve`` builds them) talk to one ``prefect server start``. The incident
deployment is registered but nothing executes it, so a run stays Scheduled (open) until a test
sets a final state. Every assertion reads back what the Prefect API holds: the flow runs of the
deployment and the join inputs on them. Each test uses its own service.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments.runner import RunnerDeployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Completed
from pydantic import SecretStr

from alerts.dead_letters import DeadLetterStore
from alerts.joins import JOIN_KEY_PREFIX, Join
from alerts.prefect_starter import PrefectStarter
from alerts.receiver import create_app
from alerts.settings import ReceiverSettings
from drills.prefect_server import LocalPrefectServer
from firebreak.commands.alerts import serve_starter
from flows.joins import take_new_joins
from flows.settings import RunSettings

pytestmark = pytest.mark.integration

TOKEN = "open-incident-token"  # not a secret: lives as long as the test
ONSET = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def alert(service: str, name: str = "error-rate", *, onset: datetime = ONSET) -> dict[str, Any]:
    """A firing alert in the generic format, about ``service`` in prod."""
    return {
        "fingerprint": f"{service}/{name}",
        "status": "firing",
        "service": service,
        "environment": "prod",
        "region": "eu-west-1",
        "name": f"{service}-prod-{name}",
        "starts_at": onset.isoformat(),
    }


class Replica:
    """One receiver replica: the production app, its own memory, the shared Prefect server."""

    def __init__(self, settings: ReceiverSettings, starter: Any = None) -> None:
        app = create_app(
            settings,
            starter=starter if starter is not None else serve_starter(settings),
            dead_letters=DeadLetterStore(settings.dead_letter_dir),
        )
        self.client = TestClient(app)

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(
            "/alerts/generic", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200, response.text
        (started,) = response.json()["started"]
        assert isinstance(started, dict)
        return started


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    """A Prefect server with the incident deployment registered (no worker: runs stay open)."""
    work = tmp_path_factory.mktemp("open-incident")
    settings = RunSettings(output_dir=str(work / "incidents"))  # no worker: no host to configure
    with (
        LocalPrefectServer() as running,
        patch.dict(os.environ, running.env),
        temporary_settings(updates={PREFECT_API_URL: running.api_url}),
    ):
        RunnerDeployment.from_entrypoint(
            "flows/incident.py:incident_response",
            name="incident",
            parameters={"settings": settings.model_dump(mode="json")},
        ).apply()
        yield running


@pytest.fixture
def settings(server: LocalPrefectServer, tmp_path: Path) -> ReceiverSettings:
    return ReceiverSettings(
        generic_token=SecretStr(TOKEN), dead_letter_dir=tmp_path / "dead", prefect_api_url=server.api_url
    )


def runs_of(service: str) -> list[FlowRun]:
    """Every incident run whose alert is about ``service`` (by its parameter, not by its tags)."""
    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(limit=200)
    return [r for r in runs if r.parameters.get("alert", {}).get("service") == service]


def joins_on(flow_run_id: str) -> list[Join]:
    with get_client(sync_client=True) as prefect:
        stored = prefect.filter_flow_run_input(
            UUID(flow_run_id), JOIN_KEY_PREFIX, limit=100, exclude_keys=set()
        )
    return [Join.model_validate_json(s.value) for s in stored]


def finish(flow_run_id: str) -> None:
    with get_client(sync_client=True) as prefect:
        prefect.set_flow_run_state(UUID(flow_run_id), Completed(), force=True)


@pytest.mark.timeout(120)
def test_two_alarms_of_one_service_are_one_run_and_one_join_read_back_by_the_flow(
    settings: ReceiverSettings,
) -> None:
    replica = Replica(settings)
    opened = replica.post(alert("svc-two-alarms"))
    joined = replica.post(alert("svc-two-alarms", "latency"))

    (run,) = runs_of("svc-two-alarms")
    assert str(run.id) == opened["flow_run_id"] == joined["flow_run_id"]
    assert opened["created"] and joined["joined"] and not joined["created"]
    (join,) = joins_on(opened["flow_run_id"])
    assert join.alert.fingerprint == "svc-two-alarms/latency"

    seen: set[str] = set()
    assert [j.alert.name for j in take_new_joins(run.id, seen)] == ["svc-two-alarms-prod-latency"]
    assert take_new_joins(run.id, seen) == []


@pytest.mark.timeout(120)
def test_the_same_alarm_refiring_while_open_joins(settings: ReceiverSettings) -> None:
    replica = Replica(settings)
    opened = replica.post(alert("svc-refire"))
    refired = replica.post(alert("svc-refire", onset=ONSET + timedelta(minutes=2)))

    assert refired["joined"] and refired["flow_run_id"] == opened["flow_run_id"]
    assert len(runs_of("svc-refire")) == 1
    assert [j.alert.starts_at for j in joins_on(opened["flow_run_id"])] == [ONSET + timedelta(minutes=2)]


@pytest.mark.timeout(120)
def test_a_duplicate_delivery_to_another_replica_is_the_same_run_and_one_join(
    settings: ReceiverSettings,
) -> None:
    one, other = Replica(settings), Replica(settings)
    opened = one.post(alert("svc-duplicate"))
    joined = one.post(alert("svc-duplicate", "latency"))

    assert other.post(alert("svc-duplicate")) == {**opened, "created": False}
    assert other.post(alert("svc-duplicate", "latency")) == joined
    assert len(runs_of("svc-duplicate")) == 1
    assert len(joins_on(opened["flow_run_id"])) == 1


@pytest.mark.timeout(120)
def test_after_the_run_is_final_a_new_alert_starts_a_new_run(settings: ReceiverSettings) -> None:
    replica = Replica(settings)
    first = replica.post(alert("svc-final"))
    finish(first["flow_run_id"])

    second = replica.post(alert("svc-final", onset=ONSET + timedelta(minutes=3)))

    assert second["created"] and second["flow_run_id"] != first["flow_run_id"]
    assert {str(r.id) for r in runs_of("svc-final")} == {first["flow_run_id"], second["flow_run_id"]}
    assert joins_on(first["flow_run_id"]) == []


@pytest.mark.timeout(120)
def test_a_run_older_than_the_max_age_no_longer_counts_as_open(
    server: LocalPrefectServer, settings: ReceiverSettings
) -> None:
    first = Replica(settings).post(alert("svc-old"))
    later = PrefectStarter(
        server.api_url,
        max_open=settings.incident_max_open(),
        clock=lambda: datetime.now(UTC) + settings.incident_max_open() + timedelta(minutes=1),
    )
    second = Replica(settings, later).post(alert("svc-old", onset=ONSET + timedelta(minutes=1)))

    assert second["created"] and second["flow_run_id"] != first["flow_run_id"]
    assert len(runs_of("svc-old")) == 2
    assert joins_on(first["flow_run_id"]) == []


@pytest.mark.timeout(180)
@pytest.mark.parametrize("attempt", range(3))
def test_two_replicas_given_two_alerts_of_one_service_at_once_start_exactly_one_run(
    settings: ReceiverSettings, attempt: int
) -> None:
    service = f"svc-race-{attempt}"
    replicas = [Replica(settings), Replica(settings)]
    bodies = [alert(service), alert(service, "latency")]
    barrier = threading.Barrier(2)
    answers: list[dict[str, Any]] = [{}, {}]

    def post(i: int) -> None:
        barrier.wait()
        answers[i] = replicas[i].post(bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (run,) = runs_of(service)
    assert {a["flow_run_id"] for a in answers} == {str(run.id)}
    assert sorted((a["created"], a["joined"]) for a in answers) == [(False, True), (True, False)]
    assert len(joins_on(str(run.id))) == 1
