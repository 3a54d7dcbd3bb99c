"""``firebreak stack check``: the work pool still starts runs with Firebreak's engine client
(issue 26 point 1). A Prefect API holder can change the pool's command so that the client, and
with it the host's run checks, never runs; the operator's check says so. Real Prefect server."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.workers.process import ProcessWorker
from typer.testing import CliRunner

from drills.prefect_server import LocalPrefectServer
from firebreak.cli import app
from firebreak.pool_command import command_problems, engine_client_command

runner = CliRunner()
CLIENT = engine_client_command(sys.executable)


def _template(command: str | None = CLIENT) -> dict[str, Any]:
    template = copy.deepcopy(ProcessWorker.get_default_base_job_template())
    template["variables"]["properties"]["command"]["default"] = command
    return template


def test_the_engine_client_as_the_pools_command_is_no_problem() -> None:
    assert command_problems(_template(), {}, CLIENT) == []


def test_another_command_a_changed_job_configuration_or_a_deployments_command_are_problems() -> None:
    stock = _template(f"{sys.executable} -m prefect.engine")
    assert command_problems(stock, {}, CLIENT) == [
        f"the pool's command is '{sys.executable} -m prefect.engine', not {CLIENT!r}"
    ]
    rewired = _template()
    rewired["job_configuration"]["command"] = "python -m prefect.engine"
    assert command_problems(rewired, {}, CLIENT) == [
        "the pool's job_configuration.command is 'python -m prefect.engine', not '{{ command }}'"
    ]
    assert command_problems(
        _template(), {"incident-response/incident": {"command": "sh evil.sh"}}, CLIENT
    ) == ["deployment incident-response/incident sets the command 'sh evil.sh'"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefectServer]:
    with LocalPrefectServer(home=tmp_path_factory.mktemp("prefect")) as running:
        yield running


def _client(server: LocalPrefectServer) -> SyncPrefectClient:
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        return get_client(sync_client=True)


def _check(server: LocalPrefectServer) -> Any:
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        return runner.invoke(app, ["stack", "check"])


def test_stack_check_reads_the_pool_and_fails_once_its_command_is_changed_through_the_api(
    server: LocalPrefectServer,
) -> None:
    with _client(server) as client:
        client.create_work_pool(
            WorkPoolCreate(name="firebreak", type="process", base_job_template=_template())
        )

    ok = _check(server)
    assert ok.exit_code == 0, ok.output
    assert f"pool firebreak starts runs with Firebreak's engine client ({CLIENT})" in ok.output

    with _client(server) as client:  # what any holder of the Prefect API can do
        client.update_work_pool(
            "firebreak", WorkPoolUpdate(base_job_template=_template(f"{sys.executable} -m prefect.engine"))
        )
    changed = _check(server)
    assert changed.exit_code == 1, changed.output
    assert f"the pool's command is '{sys.executable} -m prefect.engine'" in changed.output
    assert "the host's run checks do not run" in changed.output
