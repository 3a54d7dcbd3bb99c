"""Approvers without the Prefect API (issue 26 point 2): `firebreak pending --receiver` and
`firebreak approve --receiver --key` against a real receiver app and a real paused incident;
the receiver checks the signature against the policy on its host and resumes the run, which
rolls back (read back from moto)."""

from __future__ import annotations

import contextvars
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

import firebreak.receiver_client
from alerts.dead_letters import DeadLetterStore
from alerts.receiver import create_app
from drills import seed_names as n
from drills.faults import inject_bad_deploy
from firebreak.cli import app
from flows.identity import private_key_pem
from flows.incident import incident_response
from tests.alerts.fakes import FakeStarter
from tests.alerts.fakes import settings as receiver_settings
from tests.flows.conftest import World
from tests.people import key_of

runner = CliRunner()


def _key(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.pem"
    path.touch(mode=0o600)
    path.write_bytes(private_key_pem(key_of(name)))
    return path


def test_pending_and_approve_through_the_receiver_roll_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    config = receiver_settings(
        world.tmp, prefect_api_url=PREFECT_API_URL.value(), policy_file=world.tmp / "policy.yaml"
    )
    dead_letters = DeadLetterStore(config.dead_letter_dir)
    receiver = TestClient(create_app(config, starter=FakeStarter(), dead_letters=dead_letters))
    monkeypatch.setattr(firebreak.receiver_client, "connect", lambda url: receiver)
    # The approver's shell has no Prefect API: only the receiver's address and a key.
    monkeypatch.setenv("FIREBREAK_RECEIVER_URL", "http://receiver.invalid")
    monkeypatch.setenv("FIREBREAK_APPROVER_KEY", str(_key(world.tmp, "alice")))
    context = contextvars.copy_context()
    flow = threading.Thread(
        target=context.run, args=(lambda: incident_response(alert=alert, settings=settings),), daemon=True
    )
    flow.start()

    deadline = time.monotonic() + 60
    steps: list[dict[str, object]] = []
    while not steps and time.monotonic() < deadline:
        listed = runner.invoke(app, ["pending", "--json", "--as", "alice"])
        assert listed.exit_code == 0, listed.output
        steps = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
        time.sleep(0.5)
    (step,) = steps
    assert step["identity"] == "verified"

    mallory = runner.invoke(app, ["pending", "--as", "mallory", "--key", str(_key(world.tmp, "mallory"))])
    assert mallory.exit_code == 2 and "HTTP 403" in mallory.output

    run_id = str(step["flow_run_id"])
    args = ["approve", run_id, "--as", "alice", "--plan-hash", str(step["plan_hash"]), "--reason", "1.5.0"]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0 and "alice approved" in ok.output, ok.output
    flow.join(timeout=120)
    assert world.task_definition() == "checkout:1"
    _, timeline = world.report(alert, settings)
    (answer,) = timeline.events("approval-answer")
    assert answer.message.endswith("-> approved") and answer.data["channel"] == "cli"
