"""The fork server refuses, before the engine, a run whose deployment the host's prefect.yaml
does not name (issue 26 point 1): a real Prefect server, a deployment changed through the API,
and the run's own state saying why."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from drills.prefect_server import LocalPrefectServer
from firebreak.engine_protocol import SOCKET_ENV

REPO = Path(__file__).resolve().parents[2]
ALLOWED = "flows/incident.py:incident_response"
PULL: list[dict[str, Any]] = [
    {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $FIREBREAK_HOME }}"}}
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    with LocalPrefectServer(home=tmp_path_factory.mktemp("prefect")) as running:
        yield running


def _client(server: LocalPrefectServer) -> SyncPrefectClient:
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        return get_client(sync_client=True)


def _run_of(server: LocalPrefectServer, entrypoint: str, pull: list[dict[str, Any]]) -> UUID:
    with _client(server) as client:
        flow_id = client.create_flow_from_name("incident-response")
        deployment_id = client.create_deployment(
            flow_id=flow_id, name=f"d-{time.monotonic_ns()}", entrypoint=entrypoint, pull_steps=pull
        )
        return client.create_flow_run_from_deployment(deployment_id).id


def test_a_deployment_changed_to_another_entrypoint_is_refused_before_the_engine(
    server: LocalPrefectServer, tmp_path: Path
) -> None:
    prefect_yaml = tmp_path / "prefect.yaml"
    prefect_yaml.write_text(
        yaml.safe_dump({"pull": PULL, "deployments": [{"name": "incident", "entrypoint": ALLOWED}]})
    )
    env = {**os.environ, **server.env}
    socket_path = tmp_path / "engine.sock"
    log = (tmp_path / "forkserver.log").open("wb")
    forkserver = subprocess.Popen(
        [sys.executable, "-m", "firebreak.forkserver", "--socket", str(socket_path),
         "--prefect-yaml", str(prefect_yaml)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        run_id = _run_of(server, "evil.py:main", PULL)
        client_env = {**env, SOCKET_ENV: str(socket_path), "PREFECT__FLOW_RUN_ID": str(run_id)}
        done = subprocess.run(
            [sys.executable, "-m", "firebreak.engine_client"],
            cwd=REPO, env=client_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "the worker's host refused this run: entrypoint evil.py:main is not one of" in done.stderr
        with _client(server) as client:
            state = client.read_flow_run(run_id).state
        assert state is not None and state.is_failed()
        assert "refused by the worker's host: entrypoint evil.py:main" in str(state.message)
    finally:
        forkserver.terminate()
        forkserver.wait(timeout=30)


def test_without_a_fork_server_the_client_refuses_a_deployment_the_host_does_not_name(
    server: LocalPrefectServer,
) -> None:
    """No fork server answers: the engine client checks the run against the host's
    prefect.yaml (the repository's, next to its code) itself, before the engine."""
    run_id = _run_of(server, "evil.py:main", PULL)
    client_env = {**os.environ, **server.env, "PREFECT__FLOW_RUN_ID": str(run_id)}
    client_env.pop(SOCKET_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "firebreak.engine_client"],
        cwd=REPO, env=client_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "the worker's host refused this run: entrypoint evil.py:main is not one of" in done.stderr
    with _client(server) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None and state.is_failed()
    assert "refused by the worker's host: entrypoint evil.py:main" in str(state.message)
