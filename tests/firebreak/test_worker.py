"""The Firebreak worker starts runs only through the engine client (issue 26 point 1): a command
set through the Prefect API (a deployment's or a run's job variables, the pool's template) is
never started; the run ends Failed saying why. Real Prefect server, real worker polling once."""

from __future__ import annotations

import asyncio
import copy
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.workers.process import ProcessWorker

from drills.prefect_server import LocalPrefectServer
from firebreak.pool_command import engine_client_command
from firebreak.worker import FirebreakWorker, launch_problem

CLIENT = engine_client_command(sys.executable)
POOL = "firebreak"


def _template(command: str | None = CLIENT) -> dict[str, Any]:
    template = copy.deepcopy(ProcessWorker.get_default_base_job_template())
    template["variables"]["properties"]["command"]["default"] = command
    return template


def _writes(marker: Path) -> str:
    """A command that, if started, leaves ``marker`` behind."""
    return shlex.join([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ran')"])


def test_a_command_other_than_the_engine_clients_is_a_problem_and_so_is_a_fixed_variable() -> None:
    assert launch_problem(CLIENT, {"PATH": "/bin"}, expected=CLIENT, host={"PATH": "/usr/bin"}) is None
    assert launch_problem("sh x.sh", {}, expected=CLIENT, host={}) == (
        f"the run's command is 'sh x.sh', not this host's {CLIENT!r}: refused"
    )
    assert launch_problem(CLIENT, {"LD_PRELOAD": "/tmp/evil.so"}, expected=CLIENT, host={}) == (
        "the run sets LD_PRELOAD, which this host fixes (unset here): refused"
    )
    assert launch_problem(CLIENT, {"LD_PRELOAD": None}, expected=CLIENT, host={}) is None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    with LocalPrefectServer(home=tmp_path_factory.mktemp("prefect")) as running:
        with _client(running) as client:
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process", base_job_template=_template()))
        yield running


def _client(server: LocalPrefectServer) -> SyncPrefectClient:
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        return get_client(sync_client=True)


def _run(
    server: LocalPrefectServer, *, deployment_variables: dict[str, Any], run_variables: dict[str, Any]
) -> UUID:
    with _client(server) as client:
        flow_id = client.create_flow_from_name("incident-response")
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name=f"d-{time.monotonic_ns()}",
            entrypoint="flows/incident.py:incident_response",
            work_pool_name=POOL,
            job_variables=deployment_variables,
        )
        return client.create_flow_run_from_deployment(deployment_id, job_variables=run_variables).id


def _poll_once(server: LocalPrefectServer, worker: type[ProcessWorker]) -> None:
    """One poll of the pool by ``worker``, returning once the runs it started have ended."""
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        asyncio.run(worker(work_pool_name=POOL, create_pool_if_not_found=False).start(run_once=True))


def _state(server: LocalPrefectServer, run_id: UUID) -> Any:
    with _client(server) as client:
        return client.read_flow_run(run_id).state


def test_prefects_process_worker_starts_a_command_set_in_a_deployments_job_variables(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    """The hole, as `prefect worker start` leaves it: whoever holds the API runs anything."""
    marker = tmp_path / "marker"
    _run(server, deployment_variables={"command": _writes(marker)}, run_variables={})
    _poll_once(server, ProcessWorker)
    assert marker.read_text() == "ran"


def test_the_firebreak_worker_refuses_a_command_set_in_a_deployments_job_variables(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    command = _writes(marker)
    run_id = _run(server, deployment_variables={"command": command}, run_variables={})
    _poll_once(server, FirebreakWorker)
    assert not marker.exists()
    state = _state(server, run_id)
    assert state.type == StateType.FAILED
    assert state.message == (
        f"refused by the worker's host: the run's command is {command!r}, not this host's {CLIENT!r}: refused"
    )


def test_the_firebreak_worker_refuses_a_command_set_in_a_runs_job_variables(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    run_id = _run(server, deployment_variables={}, run_variables={"command": _writes(marker)})
    _poll_once(server, FirebreakWorker)
    assert not marker.exists()
    state = _state(server, run_id)
    assert state.type == StateType.FAILED
    assert "the run's command is" in state.message and str(marker) in state.message


def test_the_firebreak_worker_refuses_an_environment_variable_acting_before_python(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    run_id = _run(
        server, deployment_variables={}, run_variables={"env": {"LD_PRELOAD": str(tmp_path / "x.so")}}
    )
    _poll_once(server, FirebreakWorker)
    state = _state(server, run_id)
    assert state.type == StateType.FAILED
    assert state.message == (
        "refused by the worker's host: the run sets LD_PRELOAD, which this host fixes (unset here): refused"
    )


def test_the_firebreak_worker_refuses_every_run_once_the_pools_command_is_changed(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    with _client(server) as client:  # what any holder of the Prefect API can do
        client.update_work_pool(POOL, WorkPoolUpdate(base_job_template=_template(_writes(marker))))
    try:
        run_id = _run(server, deployment_variables={}, run_variables={})
        _poll_once(server, FirebreakWorker)
    finally:
        with _client(server) as client:
            client.update_work_pool(POOL, WorkPoolUpdate(base_job_template=_template()))
    assert not marker.exists()
    state = _state(server, run_id)
    assert state.type == StateType.FAILED
    assert "the run's command is" in state.message


def test_the_firebreak_worker_starts_the_engine_client_which_makes_the_hosts_checks(
    server: LocalPrefectServer,
) -> None:
    """With the pool's command untouched, the run is started: its engine client (no fork server
    here) then checks the deployment and refuses an entrypoint the host's prefect.yaml lacks."""
    with _client(server) as client:
        flow_id = client.create_flow_from_name("incident-response")
        deployment_id = client.create_deployment(
            flow_id=flow_id, name=f"d-{time.monotonic_ns()}", entrypoint="evil.py:main", work_pool_name=POOL
        )
        run_id = client.create_flow_run_from_deployment(deployment_id).id
    _poll_once(server, FirebreakWorker)
    state = _state(server, run_id)
    assert state.type == StateType.FAILED
    assert state.message.startswith("refused by the worker's host: entrypoint evil.py:main is not one of")
