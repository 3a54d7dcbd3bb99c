"""The production intake path inside a drill: receiver app, Prefect starter, served deployment.

When a scenario delivers more than one alert (a re-fire, a second alarm), joining and dedup are
what the drill tests, so the alerts must take the way production alerts take: posted to the
receiver app ``firebreak serve`` runs (``alerts.receiver.create_app`` with
``serve_starter``, configured by ``FIREBREAK_*`` variables as an operator would), parsed,
routed, deduplicated and started on a deployment of ``incident-response``, which a Prefect
``Runner`` in this process serves (each run in its own subprocess, as a worker would).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.runner import Runner
from rich.console import Console

from alerts.dead_letters import DeadLetterStore
from alerts.models import Alert
from alerts.receiver import create_app
from alerts.settings import load_settings
from drills.alerting import refired
from drills.environ import scoped_environment
from drills.scenario import FaultKind, Scenario
from firebreak.commands.alerts import serve_starter
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.settings import RunSettings
from flows.timeline import Timeline

INCIDENT_FLOW = "incident-response"
DEPLOYMENT = "drill"
DRILL_TOKEN = "drill-generic-token"  # not a secret: the receiver lives as long as the drill
INTAKE_TIMEOUT_SECONDS = 200.0  # every served incident run final within this (a drill is ~1 min)


class IntakeError(RuntimeError):
    """The receiver refused a drill alert, or the served runs did not finish in time."""


def count_incident_runs() -> int:
    """Incident flow runs the drill's Prefect server holds (every one the scenario started)."""
    return len(incident_runs())


def incident_runs() -> list[FlowRun]:
    """Every ``incident-response`` flow run on the current Prefect server."""
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[INCIDENT_FLOW])))


def generic_payload(alert: Alert) -> dict[str, Any]:
    """``alert`` in the receiver's generic JSON format (docs/alerts.md)."""
    payload: dict[str, Any] = {
        "fingerprint": alert.fingerprint,
        "name": alert.name,
        "starts_at": alert.starts_at.isoformat(),
        "service": alert.service,
        "environment": alert.environment,
        "region": alert.region,
        "summary": alert.summary,
        "labels": alert.labels,
    }
    if alert.metric is not None:
        payload["metric"] = alert.metric.model_dump(mode="json")
    return payload


def receiver_environment(*, dead_letter_dir: Path, policy_path: str | None) -> dict[str, str]:
    """The ``FIREBREAK_*`` variables an operator would give ``firebreak serve`` for the drill."""
    return {
        "FIREBREAK_GENERIC_TOKEN": DRILL_TOKEN,
        "FIREBREAK_DEPLOYMENT": f"{INCIDENT_FLOW}/{DEPLOYMENT}",
        "FIREBREAK_DEAD_LETTER_DIR": str(dead_letter_dir),
        **({"FIREBREAK_POLICY_FILE": policy_path} if policy_path else {}),
    }


class DrillIntake:
    """Serves the incident deployment and posts alerts to the receiver app while it runs.

    >>> with DrillIntake(settings, output) as intake:
    ...     intake.deliver([alert, second_alert])
    ...     intake.wait_until_done(timeout=180)
    """

    def __init__(self, settings: RunSettings, output: Path, *, query_seconds: float = 1.0) -> None:
        self.settings = settings
        self.output = output
        self._runner = Runner(name="firebreak-drill", query_seconds=query_seconds, pause_on_shutdown=False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._client: TestClient | None = None

    def __enter__(self) -> DrillIntake:
        context = contextvars.copy_context()  # carries the drill's Prefect API settings
        self._thread = threading.Thread(target=context.run, args=(self._serve,), daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=60) or self._error is not None:
            raise IntakeError(f"the incident deployment could not be served: {self._error}")
        variables = receiver_environment(
            dead_letter_dir=self.output / "dead-letters", policy_path=self.settings.policy_path
        )
        with scoped_environment(variables):
            settings = load_settings()
            app = create_app(
                settings,
                starter=serve_starter(settings),
                dead_letters=DeadLetterStore(settings.dead_letter_dir, max_letters=settings.dead_letter_max),
            )
        self._client = TestClient(app)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.close()
        if self._loop is not None and self._runner.started:
            self._wait_for_processes(timeout=30)
            asyncio.run_coroutine_threadsafe(self._runner.astop(), self._loop).result(timeout=30)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def deliver(self, alerts: list[Alert]) -> list[str]:
        """Post ``alerts`` in one request, as a sender batching them would; the run ids it names."""
        if self._client is None:
            raise IntakeError("the drill intake is not running")
        response = self._client.post(
            "/alerts/generic",
            json=[generic_payload(a) for a in alerts],
            headers={"Authorization": f"Bearer {DRILL_TOKEN}"},
        )
        answer = response.json()
        if response.status_code != 200:
            raise IntakeError(f"the receiver answered HTTP {response.status_code}: {answer.get('detail')}")
        return [str(run["flow_run_id"]) for run in answer.get("started", [])]

    def all_done(self) -> bool:
        """Every incident run started so far has reached a final state."""
        return all(run.state is not None and run.state.is_final() for run in incident_runs())

    def wait_until_done(self, timeout: float, poll_seconds: float = 1.0) -> None:
        """Wait until every incident run is final; raises IntakeError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.all_done():
                return
            time.sleep(poll_seconds)
        raise IntakeError(f"incident runs not finished after {timeout:.0f}s")

    def _wait_for_processes(self, timeout: float) -> None:
        """Wait for the flow-run subprocesses to exit: stopping a Runner cancels every run it
        still tracks, and a run's process outlives its final state by a moment."""
        deadline = time.monotonic() + timeout
        while self._runner._process_manager.flow_run_ids() and time.monotonic() < deadline:
            time.sleep(0.2)

    def _serve(self) -> None:
        try:
            asyncio.run(self._start())
        except BaseException as e:  # noqa: BLE001 - the thread's outermost level: report to __enter__
            self._error = e
            self._ready.set()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        deployment = await incident_response.ato_deployment(
            name=DEPLOYMENT, parameters={"settings": self.settings.model_dump(mode="json")}
        )
        await self._runner.aadd_deployment(deployment)
        self._ready.set()
        await self._runner.start()


def through_intake(
    scenario: Scenario, alerts: list[Alert], settings: RunSettings, output: Path, console: Console
) -> None:
    """Deliver ``alerts`` to the receiver, re-fire the first once a mitigation is applied (for
    ``refire``), and wait until every incident run the intake started is final."""
    timeline_path = settings.incident_dir(incident_id_for(alerts[0])) / "timeline.json"
    refire_pending = scenario.has(FaultKind.REFIRE)
    deadline = time.monotonic() + INTAKE_TIMEOUT_SECONDS
    with DrillIntake(settings, output) as intake:
        console.print(f"intake: started or joined {intake.deliver(alerts)}")
        while not intake.all_done():
            if refire_pending and _applied(timeline_path):
                again = refired(alerts[0])
                console.print(f"[bold]re-fire:[/] {again.name} at {again.starts_at:%H:%M:%S}")
                console.print(f"intake: started or joined {intake.deliver([again])}")
                refire_pending = False
            if time.monotonic() > deadline:
                raise IntakeError(f"incident runs not finished after {INTAKE_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.5)
    if refire_pending:
        console.print("[yellow]re-fire: not sent, no mitigation was applied")


def _applied(timeline_path: Path) -> bool:
    """The incident's timeline records an applied action (it is written atomically)."""
    return timeline_path.exists() and bool(Timeline.load(timeline_path).events("applied"))
