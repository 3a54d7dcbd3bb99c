"""Secrets that must never leak into an incident's records (AWS faults on every mutating
action during a whole incident: test_fault_matrix.py)."""

from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client

from drills.faults import inject_bad_flag
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from tasks.aws import clear_client_cache
from tests.flows.conftest import World

CANARY = "canary-Zq8vXr2LmT0wPqK9"


def test_a_canary_secret_never_reaches_parameters_logs_artifacts_or_the_timeline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)
    monkeypatch.setenv("FIREBREAK_TEST_CANARY", CANARY)
    clear_client_cache()  # the flow's clients must sign with the canary credentials
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()
    state = incident_response(alert=alert, settings=settings, return_state=True)
    clear_client_cache()
    folder = settings.incident_dir(incident_id_for(alert))
    written = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())  # the chart too
    assert b"flags.disable.ssm" in written  # the records are there...
    assert CANARY.encode() not in written  # ...and the secret is not
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(run_id)
        logs = prefect.read_logs(limit=200)
        artifacts = prefect.read_artifacts(limit=200)
    assert CANARY not in json.dumps(run.parameters, default=str)
    assert logs and CANARY not in " ".join(log.message for log in logs)
    assert artifacts and CANARY not in json.dumps([a.data for a in artifacts], default=str)
