"""A worker dies in the middle of resolve (after applying, while baking); the incident is run
again: nothing is applied twice (actions re-read live state) and the timeline keeps both runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.report import Outcome
from tasks.metrics import alarm_states
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve

RUN_FLOW = """
import sys
from alerts.models import Alert
from flows.incident import incident_response
from flows.settings import RunSettings
alert, settings = Alert.model_validate_json(sys.argv[1]), RunSettings.model_validate_json(sys.argv[2])
incident_response(alert=alert, settings=settings)
"""


def _wait_for_event(path: Path, event: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                entries = json.loads(path.read_text())["entries"]
            except json.JSONDecodeError:  # caught mid-write (the writer replaces atomically)
                entries = []
            if any(e["event"] == event for e in entries):
                return
        time.sleep(0.2)
    raise AssertionError(f"no {event!r} entry in {path} within {timeout}s")


def _wait_for_alarm_ok(world: World, timeout: float = 60) -> None:
    names = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(n.PRIMARY_REGION).alarms
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(alarm_states(names, aws=world.sandbox.target()).values()) == {"OK"}:
            time.sleep(3)  # the alarm flips with the tick; its datapoint is readable a second later
            return
        time.sleep(0.5)
    raise AssertionError("the alarm did not clear after the rollback")


def test_a_worker_killed_after_applying_does_not_apply_twice_on_rerun(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings().model_copy(update={"bake_seconds": 60})
    timeline_path = settings.incident_dir(incident_id_for(alert)) / "timeline.json"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    worker = subprocess.Popen(
        [sys.executable, "-c", RUN_FLOW, alert.model_dump_json(), settings.model_dump_json()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(world.tmp / "worker.log").open("wb"),
    )
    try:
        with Script([approve("alice")]):
            _wait_for_event(timeline_path, "applied")
        worker.kill()  # mid-resolve: the fix is applied, the bake has not finished
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert world.task_definition() == "checkout:1"
    _wait_for_alarm_ok(world)  # the on-call restarts the run a little later, as in real life

    incident_response(alert=alert, settings=world.settings(), return_state=True)
    report, timeline = world.report(alert, world.settings())
    events = [e.event for e in timeline.entries]
    assert events.count("applied") == 1  # the rerun did not apply anything again
    assert "restarted" in events and events.index("restarted") > events.index("applied")
    assert report.outcome is Outcome.NOT_CONFIRMED  # the rollback had already fixed it
    assert world.task_definition() == "checkout:1"
