"""The production intake path inside a drill: receiver app, Prefect starter, served deployment.

When a scenario delivers more than one alert (a re-fire, a second alarm), joining and dedup are
what the drill tests, so the alerts must take the way production alerts take: posted to the
receiver app ``firebreak serve`` runs (``alerts.receiver.create_app`` with
``serve_starter``, configured by ``FIREBREAK_*`` variables as an operator would), parsed,
routed, deduplicated and started on a deployment of ``incident-response``, which a Prefect
``Runner`` in this process serves (each run in its own subprocess, as a worker would).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi.testclient import TestClient
from prefect.client.schemas.objects import FlowRun
from rich.console import Console

from alerts.dead_letters import DeadLetterStore
from alerts.models import Alert
from alerts.receiver import create_app
from alerts.settings import load_settings
from drills.alerting import refired
from drills.environ import scoped_environment
from drills.scenario import FaultKind, Scenario
from drills.served import ServedDeployment, all_final, runs_of
from firebreak.commands.alerts import serve_starter
from flows.host_config import host_config
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.settings import RunSettings
from flows.timeline import Timeline

INCIDENT_FLOW = "incident-response"
DEPLOYMENT = "drill"
DRILL_TOKEN = "drill-generic-token"  # not a secret: the receiver lives as long as the drill
INTAKE_TIMEOUT_SECONDS = 200.0  # every served incident run final within this (a drill is ~1 min)


class IntakeError(RuntimeError):
    """The receiver refused a drill alert, or the incident runs did not finish in time."""


def count_incident_runs() -> int:
    """Incident flow runs the drill's Prefect server holds (every one the scenario started)."""
    return len(incident_runs())


def incident_runs() -> list[FlowRun]:
    """Every ``incident-response`` flow run on the current Prefect server."""
    return runs_of(INCIDENT_FLOW)


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
    ...     wait_until_final(INCIDENT_FLOW, timeout=180)
    """

    def __init__(self, settings: RunSettings, output: Path, *, query_seconds: float = 1.0) -> None:
        self.settings = settings
        self.output = output
        self._served = ServedDeployment(
            incident_response,
            DEPLOYMENT,
            parameters={"settings": settings.model_dump(mode="json")},
            query_seconds=query_seconds,
        )
        self._client: TestClient | None = None

    def __enter__(self) -> DrillIntake:
        self._served.__enter__()
        policy_file = host_config().policy_file  # the drill's host's (drills/runner.py)
        variables = receiver_environment(
            dead_letter_dir=self.output / "dead-letters",
            policy_path=str(policy_file) if policy_file else None,
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
        self._served.__exit__(exc_type, exc, tb)

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


def through_intake(
    scenario: Scenario,
    alerts: list[Alert],
    settings: RunSettings,
    output: Path,
    console: Console,
    at_first_fix: Callable[[], list[Alert]] = list,
) -> None:
    """Deliver ``alerts`` to the receiver; once a mitigation is applied, re-fire the first (for
    ``refire``) and deliver ``at_first_fix()`` (another region's alarm, for ``second_alarm`` with
    a ``region:``); wait until every incident run the intake started is final."""
    timeline_path = settings.incident_dir(incident_id_for(alerts[0])) / "timeline.json"
    later_pending = True
    deadline = time.monotonic() + INTAKE_TIMEOUT_SECONDS
    with DrillIntake(settings, output) as intake:
        console.print(f"intake: started or joined {intake.deliver(alerts)}")
        while not all_final(INCIDENT_FLOW):
            if later_pending and _applied(timeline_path):
                later = [refired(alerts[0])] if scenario.has(FaultKind.REFIRE) else []
                later += at_first_fix()
                for again in later:
                    console.print(f"[bold]after the first fix:[/] {again.name} at {again.starts_at:%H:%M:%S}")
                if later:
                    console.print(f"intake: started or joined {intake.deliver(later)}")
                later_pending = False
            if time.monotonic() > deadline:
                raise IntakeError(f"incident runs not finished after {INTAKE_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.5)
    if later_pending and scenario.has(FaultKind.REFIRE):
        console.print("[yellow]re-fire: not sent, no mitigation was applied")


def _applied(timeline_path: Path) -> bool:
    """The incident's timeline records an applied action (it is written atomically)."""
    return timeline_path.exists() and bool(Timeline.load(timeline_path).events("applied"))
