"""The on-call commands against a real Prefect API: pending, approve (bound to a plan hash),
kill-switch."""

from __future__ import annotations

import contextvars
import json
import threading
import time

from pytest import MonkeyPatch
from typer.testing import CliRunner

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from firebreak.cli import app
from flows.identity import private_key_pem
from flows.incident import incident_response
from flows.killswitch import kill_switch_on
from tests.flows.conftest import World
from tests.people import key_of

runner = CliRunner()


def _wait_for_pending(timeout: float = 60) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = runner.invoke(app, ["pending", "--json"])
        assert result.exit_code == 0, result.output
        steps = [json.loads(line) for line in result.output.splitlines() if line.strip()]
        if steps:
            return steps
        time.sleep(0.5)
    raise AssertionError("no paused step appeared")


def test_pending_and_approve_from_the_cli_roll_back(world: World, monkeypatch: MonkeyPatch) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    context = contextvars.copy_context()
    flow = threading.Thread(
        target=context.run, args=(lambda: incident_response(alert=alert, settings=settings),), daemon=True
    )
    flow.start()
    step = _wait_for_pending()[0]
    run_id = str(step["flow_run_id"])
    # A verified rule: `pending` shows both signed ways, with this run's id and plan hash.
    listed = " ".join(runner.invoke(app, ["pending"]).output.split())
    assert "needs a verified identity" in listed
    offline = f"firebreak approve {run_id} --as NAME --plan-hash {step['plan_hash']} --key PATH --offline"
    assert offline in listed

    stale = runner.invoke(app, ["approve", run_id, "--as", "alice", "--plan-hash", "0" * 16])
    assert stale.exit_code == 2 and "the plan changed" in stale.output
    # A prod rollback needs a verified identity (issue 15): unsigned, the CLI says how instead.
    unsigned = runner.invoke(app, ["approve", run_id, "--as", "alice"])
    assert unsigned.exit_code == 2 and "--key PATH" in unsigned.output, (unsigned.output, step)

    key_file = world.tmp / "alice.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(private_key_pem(key_of("alice")))
    key_file.chmod(0o600)  # load_private_key refuses a key others can read
    monkeypatch.setenv("FIREBREAK_APPROVER_KEY", str(key_file))
    ok = runner.invoke(
        app,
        [
            "approve",
            run_id,
            "--as",
            "alice",
            "--plan-hash",
            str(step["plan_hash"]),
            "--reason",
            "deploy 1.5.0 is bad",
        ],
    )
    assert ok.exit_code == 0, ok.output
    flow.join(timeout=120)
    assert world.task_definition() == "checkout:1"
    _, timeline = world.report(alert, settings)
    assert timeline.events("approval-answer")[0].message.endswith("-> approved")


def test_approve_refuses_a_run_that_is_not_waiting(world: World) -> None:
    result = runner.invoke(app, ["approve", "6f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10", "--as", "alice"])
    assert result.exit_code == 2 and "not waiting for a human" in result.output


def test_kill_switch_on_status_off(world: World) -> None:
    assert "is ON" in runner.invoke(app, ["kill-switch", "on"]).output
    assert kill_switch_on()
    assert "is ON" in runner.invoke(app, ["kill-switch", "status"]).output
    assert "is off" in runner.invoke(app, ["kill-switch", "off"]).output
    assert not kill_switch_on()
