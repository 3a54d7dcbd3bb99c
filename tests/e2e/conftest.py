"""Fixtures for the browser tests: one Prefect server and one Chromium for the module, the
session's moto sandbox (tests/conftest.py), and per test a fresh bad deploy whose incident flow
is paused, waiting for an approval.

The pieces are the drill's own (drills/runner.py): the same seed, simulator, fault, alert and
run settings, so the UI is tested on exactly what a drill or an incident shows.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import BrowserContext, Page
from prefect import State
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, PREFECT_UI_API_URL, temporary_settings

from alerts.models import Alert
from drills import seed_names as n
from drills.alerting import drill_alert, wait_for_alarm
from drills.faults import InjectedFault, inject_bad_deploy
from drills.prefect_server import LocalPrefectServer
from drills.runner import flush_prefect
from drills.sandbox import Sandbox
from drills.scenario import load_scenario
from drills.seed import seed_checkout, write_catalog
from drills.simulator import Simulator
from flows.host_config import host_environment
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.pending import PendingStep, answer_step, approval_input, human_input, pending_steps
from flows.settings import RunSettings
from tasks.aws import call, client
from tests.e2e.browser import chromium

PAUSE_TIMEOUT = 60.0  # detect + diagnose take ~5-10 s; the rest is margin on a busy machine


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[LocalPrefectServer]:
    """A real ``prefect server start`` (UI included); this process's clients point at it."""
    with (
        LocalPrefectServer() as server,
        temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_UI_API_URL: server.api_url}),
    ):
        try:
            yield server
        finally:
            flush_prefect()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


@dataclass(frozen=True)
class PausedIncident:
    """A bad deploy under response, its flow paused at the rollback approval."""

    incident_id: str
    step: PendingStep
    fault: InjectedFault
    settings: RunSettings
    run: Future[State]


@pytest.fixture
def incident(
    sandbox: Sandbox,
    prefect_server: LocalPrefectServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[PausedIncident]:
    """Seed, break (bad deploy in eu-west-1), alert, and run the incident flow until it asks."""
    scenario = load_scenario("bad-deploy")
    sandbox.reset()
    # The flow builds its own clients, as in production: only the endpoint points them at moto.
    monkeypatch.setenv("FIREBREAK_AWS_ENDPOINT_URL", sandbox.endpoint_url)
    catalog = seed_checkout(sandbox.endpoint_url)
    # This test process is the flows' host: it fixes their catalog and policy.
    for variable, value in host_environment(
        catalog=write_catalog(catalog, tmp_path / "catalog.yaml"),
        policy=_declared_name_policy(tmp_path / "policy.yaml"),
    ).items():
        monkeypatch.setenv(variable, value)
    settings = RunSettings(
        output_dir=str(tmp_path / "incidents"),
        confirm_window_seconds=10,
        bake_seconds=scenario.timing.bake_seconds,
        watch_interval_seconds=1,
        healthy_checks=scenario.timing.healthy_checks,
        approval_poll_seconds=1,
    )
    with Simulator(catalog, sandbox.endpoint_url):
        fault = inject_bad_deploy(sandbox.target(), catalog, scenario.all_faults[0].region)
        onset = wait_for_alarm(catalog, sandbox, scenario.alert_region)
        alert = drill_alert(scenario, catalog, onset)
        # One incident per test, even when two tests start within the same minute.
        alert = alert.model_copy(update={"fingerprint": f"{alert.fingerprint}:{request.node.name}"})
        incident_id = incident_id_for(alert)
        run = _start_flow(alert, settings)
        try:
            yield PausedIncident(
                incident_id=incident_id,
                step=wait_for_step(incident_id, run),
                fault=fault,
                settings=settings,
                run=run,
            )
        finally:
            _end(incident_id, run)


def _declared_name_policy(path: Path) -> Path:
    """The default policy without its verified-identity rules, so a name typed into the UI form
    counts: the browser test is about that form (issue 15: prod rollbacks need a signed CLI
    answer or Slack otherwise)."""
    data = yaml.safe_load(files("policies").joinpath("default.yaml").read_text("utf-8"))
    data["approvals"] = [r for r in data["approvals"] if r.get("identity") != "verified"]
    path.write_text(yaml.safe_dump(data))
    return path


def _start_flow(alert: Alert, settings: RunSettings) -> Future[State]:
    """The incident flow in a background thread, with this context's Prefect settings."""
    future: Future[State] = Future()

    def run() -> None:
        try:
            future.set_result(incident_response(alert=alert, settings=settings, return_state=True))
        except BaseException as e:  # noqa: BLE001 - handed to the test through the future
            future.set_exception(e)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="incident-flow", daemon=True).start()
    return future


def _asking(incident_id: str) -> list[PendingStep]:
    """The steps ``incident_id`` waits on now. A run resumed between pending_steps' listing and
    its read of the run's input makes that read 404: nothing is pending then."""
    try:
        return [s for s in pending_steps() if incident_id in s.description]
    except PrefectHTTPStatusError as e:
        if e.response.status_code == 404:
            return []
        raise


def wait_for_step(incident_id: str, run: Future[State], timeout: float = PAUSE_TIMEOUT) -> PendingStep:
    """The paused step of ``incident_id``, once the flow asks; fails if the flow ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = _asking(incident_id)
        if steps:
            return steps[0]
        if run.done():
            raise AssertionError(f"the flow ended without pausing: {run.result()}")
        time.sleep(0.5)
    raise AssertionError(f"{incident_id} did not pause for a human within {timeout}s")


def refuse_everything(incident_id: str, run: Future[State], *, who: str, timeout: float) -> None:
    """Answer every further pause of ``incident_id`` with no (reject / not done) until it ends."""
    deadline = time.monotonic() + timeout
    while not run.done() and time.monotonic() < deadline:
        for step in _asking(incident_id):
            no = (
                approval_input(step, approver=who, approve=False, reason="test: refused")
                if step.kind == "approval"
                else human_input(operator=who, done=False, notes="test: not done")
            )
            answer_step(step.flow_run_id, no)
        time.sleep(0.5)


def _end(incident_id: str, run: Future[State]) -> None:
    """Never leave a flow paused behind a failed test: refuse what it still asks."""
    if not run.done():
        refuse_everything(incident_id, run, who="bob", timeout=60)
    run.result(timeout=30)


def deployed_task_definition(sandbox: Sandbox, region: str = n.PRIMARY_REGION) -> str:
    """The task definition the checkout ECS service runs now, read back from moto."""
    ecs = client("ecs", sandbox.target(region))
    services = call(ecs, "describe_services", cluster=n.CLUSTER, services=[n.ECS_SERVICE])["services"]
    return str(services[0]["taskDefinition"])
