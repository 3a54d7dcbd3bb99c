"""Firebreak on Prefect's production topology: PostgreSQL, two workers, two ``firebreak serve``.

One firebreak.stack.LocalStack for the module (a real Debian PostgreSQL, ``prefect server
start`` on it, prefect.yaml deployed, two ``prefect worker start`` processes, two receivers on
their own ports), in front of the session's moto sandbox seeded with checkout. Every assertion
reads back what the Prefect API (or moto) holds. Intake tests pause the work pool, so their runs
stay Scheduled (open) and nothing executes them; they cancel their runs afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolUpdate
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled

from drills import seed_names as n
from drills.clock import DrillClock
from drills.faults import inject_bad_deploy
from drills.runner import wait_for_alarm
from drills.sandbox import Sandbox
from drills.simulator import Simulator
from firebreak.stack import WORK_POOL, LocalStack, StackSpec
from flows.pending import answer_step, approval_input
from tasks.catalog import Catalog
from tests.integration.conftest import EVENTBRIDGE_TOKEN, _seed
from tests.integration.test_alert_to_incident import (
    alarm_event,
    ecs_task_definition,
    wait_for_approval,
    wait_for_final,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

GENERIC_TOKEN = "topology-generic-token"  # not a secret: lives as long as the test
ONSET = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


class Topology:
    """The running stack and what a test needs beside it."""

    def __init__(self, stack: LocalStack, sandbox: Sandbox, catalog: Catalog) -> None:
        self.stack = stack
        self.sandbox = sandbox
        self.catalog = catalog

    @property
    def receiver_url(self) -> str:  # what tests.integration.test_alert_to_incident helpers use
        return self.stack.receiver_urls[0]


@pytest.fixture(scope="module")
def topology(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("topology")
    catalog, settings = _seed(sandbox, work)
    env = {
        **os.environ,
        "FIREBREAK_EVENTBRIDGE_TOKEN": EVENTBRIDGE_TOKEN,
        "FIREBREAK_GENERIC_TOKEN": GENERIC_TOKEN,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    spec = StackSpec(
        workdir=work,
        run_settings=settings.model_dump_json(exclude_defaults=True),
        env=env,
        worker_env={**sandbox.env(), "PREFECT_WORKER_QUERY_SECONDS": "1"},
    )
    with LocalStack(spec) as stack:
        assert stack.server is not None
        with (
            patch.dict(os.environ, stack.server.env),
            temporary_settings(updates={PREFECT_API_URL: stack.server.api_url}),
        ):
            yield Topology(stack, sandbox, catalog)


@pytest.fixture
def paused_pool(topology: Topology) -> Iterator[None]:
    """Nothing executes runs created meanwhile; they are cancelled before the pool resumes."""
    with get_client(sync_client=True) as prefect:
        prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(is_paused=True))
    before = {r.id for r in _incident_runs()}
    try:
        yield
    finally:
        with get_client(sync_client=True) as prefect:
            for run in _incident_runs():
                if run.id not in before and run.state is not None and not run.state.is_final():
                    prefect.set_flow_run_state(run.id, Cancelled(), force=True)
            prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(is_paused=False))


def _incident_runs() -> list[FlowRun]:
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_runs(limit=200)


def runs_of(service: str) -> list[FlowRun]:
    return [r for r in _incident_runs() if r.parameters.get("alert", {}).get("service") == service]


def generic_alert(service: str) -> dict[str, Any]:
    return {
        "fingerprint": f"{service}/error-rate",
        "status": "firing",
        "service": service,
        "environment": "prod",
        "region": "eu-west-1",
        "name": f"{service}-prod-error-rate",
        "starts_at": ONSET.isoformat(),
    }


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {GENERIC_TOKEN}"}
    return httpx.post(f"{url}/alerts/generic", json=body, headers=headers, timeout=60)


def started_run_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    (started,) = response.json()["started"]
    return str(started["flow_run_id"])


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("paused_pool")
def test_the_same_alert_to_both_receivers_at_once_and_after_a_restart_is_one_run(
    topology: Topology,
) -> None:
    urls = topology.stack.receiver_urls
    body = generic_alert("svc-both-receivers")
    with ThreadPoolExecutor(max_workers=len(urls) * 2) as pool:
        answers = list(pool.map(lambda url: post(url, body), urls * 2))
    ids = {started_run_id(a) for a in answers}

    topology.stack.restart_receiver(1)
    after_restart = {started_run_id(post(url, body)) for url in urls}

    assert len(ids) == 1
    assert after_restart == ids
    assert [str(r.id) for r in runs_of("svc-both-receivers")] == list(ids)


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("paused_pool")
def test_a_burst_of_alerts_on_many_services_gets_no_503_and_loses_none(topology: Topology) -> None:
    services = [f"svc-burst-{i:02d}" for i in range(40)]
    urls = topology.stack.receiver_urls
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda i: post(urls[i % len(urls)], generic_alert(services[i])), range(len(services)))
        )

    assert [a.status_code for a in answers if a.status_code != 200] == []
    runs = [r for r in _incident_runs() if r.parameters.get("alert", {}).get("service") in services]
    assert sorted(r.parameters["alert"]["service"] for r in runs) == services
    assert {str(r.id) for r in runs} == {started_run_id(a) for a in answers}


@pytest.mark.timeout(300)
def test_a_paused_approval_survives_a_server_restart_and_the_approval_after_it_applies_the_plan(
    topology: Topology,
) -> None:
    server, region = topology.stack.server, n.PRIMARY_REGION
    assert server is not None
    with Simulator(topology.catalog, topology.sandbox.endpoint_url, DrillClock()):
        fault = inject_bad_deploy(topology.sandbox.target(), topology.catalog, region)
        onset = wait_for_alarm(topology.catalog, topology.sandbox, region)
        response = httpx.post(
            f"{topology.receiver_url}/alerts/eventbridge",
            json=alarm_event(topology.catalog, region, onset),
            headers={"Authorization": f"Bearer {EVENTBRIDGE_TOKEN}"},
            timeout=60,
        )
        flow_run_id = UUID(started_run_id(response))
        wait_for_approval(flow_run_id, timeout=120)

        server.stop()
        server.start()

        step = wait_for_approval(flow_run_id, timeout=60)  # still paused, read from PostgreSQL
        answer_step(flow_run_id, approval_input(step, approver="alice", approve=True, reason="restart"))
        run = wait_for_final(flow_run_id, timeout=120)

    assert run.state is not None
    logs = "\n".join(w.tail() for w in topology.stack.workers)
    assert run.state.type is StateType.COMPLETED, f"{run.state.message}\n{logs}"
    assert ecs_task_definition(topology, region) == fault.before  # type: ignore[arg-type]
