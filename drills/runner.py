"""Run one drill end to end: sandbox, simulator, a local Prefect server, the fault, the alert,
the incident flow, the responder, optional recovery, and the scorecard.

The flows run exactly as in production: they reach the sandbox only through the client
factory's endpoint setting (FIREBREAK_AWS_ENDPOINT_URL) and Prefect only through its API URL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_UI_API_URL, temporary_settings
from rich.console import Console

from alerts.models import Alert, MetricRef
from drills import seed_names as n
from drills.clock import DrillClock
from drills.faults import inject_bad_deploy, inject_bad_flag
from drills.prefect_server import LocalPrefectServer
from drills.responder import DrillResponder
from drills.sandbox import Sandbox
from drills.scenario import Answer, FaultKind, Scenario
from drills.scorecard import Scorecard, score
from drills.seed import seed_checkout, write_catalog
from drills.simulator import Simulator
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.recover import recover
from flows.report import IncidentReport
from flows.settings import RunSettings
from flows.timeline import Timeline
from tasks.catalog import Catalog
from tasks.metrics import alarm_states


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _break(scenario: Scenario, sandbox: Sandbox, catalog: Catalog, sim: Simulator) -> None:
    fault = scenario.fault
    if fault.kind is FaultKind.BAD_DEPLOY:
        inject_bad_deploy(sandbox.target(), catalog, fault.region)
    elif fault.kind is FaultKind.BAD_FLAG:
        inject_bad_flag(sandbox.target(), catalog)
    elif fault.kind is FaultKind.REGION_DEGRADED:
        sim.degrade_region(fault.region)
    elif fault.kind is FaultKind.DEPENDENCY_DOWN:
        sim.set_dependency_down(True)


def wait_for_alarm(catalog: Catalog, sandbox: Sandbox, region: str, timeout: float = 30) -> datetime:
    """Wait until the region's alarm fires (the simulator sets it); returns when it did."""
    names = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).alarms
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "ALARM" in alarm_states(names, aws=sandbox.target(region)).values():
            return datetime.now(UTC)
        time.sleep(0.5)
    raise TimeoutError(f"alarm {names} in {region} did not fire within {timeout}s")


def drill_alert(scenario: Scenario, catalog: Catalog, onset: datetime) -> Alert:
    """The alert a CloudWatch alarm would send, normalised (as the receiver would)."""
    region = scenario.alert_region
    spec = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).metrics[0]
    alarm = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).alarms[0]
    return Alert(
        source="drill",
        fingerprint=f"drill:{scenario.name}:{alarm}",
        service=n.SERVICE,
        environment=n.ENVIRONMENT,
        region=region,
        name=alarm,
        summary=scenario.title,
        metric=MetricRef(
            namespace=spec.namespace,
            name=spec.metric_name,
            dimensions=spec.dimensions,
            threshold=spec.healthy_threshold,
        ),
        labels={"drill": scenario.name},
        starts_at=onset,
    )


def run_drill(scenario: Scenario, *, output: Path, console: Console, interactive: bool = False) -> Scorecard:
    """Run ``scenario`` and return its scorecard (printing progress to ``console``)."""
    output.mkdir(parents=True, exist_ok=True)
    responder_config = scenario.responder
    if interactive:
        responder_config = responder_config.model_copy(
            update={"approvals": Answer.INTERACTIVE, "human_steps": Answer.INTERACTIVE}
        )
    clock = DrillClock()
    with (
        console.status("starting the sandbox (moto server) and seeding checkout in two regions"),
        Sandbox(export_env=True) as sandbox,
    ):
        catalog = seed_checkout(sandbox.endpoint_url)
        catalog_path = write_catalog(catalog, output / "catalog.yaml")
        console.print(f"sandbox: moto at {sandbox.endpoint_url}; catalog {catalog_path}")
        with (
            console.status("starting a local Prefect server (about 15 s)"),
            LocalPrefectServer() as server,
            _environment(server.env),
            temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_UI_API_URL: server.api_url}),
        ):
            console.print(f"prefect: UI at {server.ui_url} (paused steps can be approved there)")
            try:
                return _run(
                    scenario, catalog, catalog_path, sandbox, clock, responder_config, output, console
                )
            finally:
                flush_prefect()


def flush_prefect() -> None:
    """Send buffered logs and events while the drill's server is still up (else they are
    retried against a dead server at exit, for a minute, with errors)."""
    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


def _run(
    scenario: Scenario,
    catalog: Catalog,
    catalog_path: Path,
    sandbox: Sandbox,
    clock: DrillClock,
    responder_config: object,
    output: Path,
    console: Console,
) -> Scorecard:
    timing = scenario.timing
    settings = RunSettings(
        catalog_path=str(catalog_path),
        output_dir=str(output / "incidents"),
        confirm_window_seconds=10,
        bake_seconds=timing.bake_seconds,
        watch_interval_seconds=timing.watch_interval_seconds,
        healthy_checks=timing.healthy_checks,
        approval_poll_seconds=1,
    )
    with Simulator(catalog, sandbox.endpoint_url, clock) as sim:
        time.sleep(scenario.fault.delay_seconds)
        console.print(f"[bold]fault:[/] {scenario.fault.kind.value} ({scenario.fault.region})")
        fault_at = datetime.now(UTC)
        _break(scenario, sandbox, catalog, sim)
        onset = (
            fault_at
            if scenario.fault.kind is FaultKind.NONE
            else wait_for_alarm(catalog, sandbox, scenario.alert_region)
        )
        alert = drill_alert(scenario, catalog, onset)
        console.print(f"[bold]alert:[/] {alert.name} at {onset:%H:%M:%S}; running incident-response")
        responder = DrillResponder(responder_config, console=console).start()  # type: ignore[arg-type]
        try:
            state = incident_response(alert=alert, settings=settings, return_state=True)
            console.print(f"incident flow: {state.type.value}: {state.message}")
            recovery = _recover(scenario, sim, alert, settings, console)
        finally:
            responder.stop()
    incident_id = incident_id_for(alert)
    report = IncidentReport.model_validate_json(
        (settings.incident_dir(incident_id) / "report.json").read_text()
    )
    timeline = Timeline.load(settings.incident_dir(incident_id) / "timeline.json")
    return score(scenario, report, timeline, answers=responder.answered, recovery=recovery, speed=clock.speed)


def _recover(
    scenario: Scenario, sim: Simulator, alert: Alert, settings: RunSettings, console: Console
) -> str | None:
    if scenario.recovery is None:
        return None
    if scenario.recovery.heal:
        sim.heal_region(scenario.fault.region)
        console.print(
            f"[bold]recovery:[/] {scenario.fault.region} healed; {scenario.recovery.requester} "
            "starts the recover flow"
        )
    state = recover(
        incident_id=incident_id_for(alert),
        settings=settings,
        requester=scenario.recovery.requester,
        return_state=True,
    )
    console.print(f"recover flow: {state.type.value}: {state.message}")
    return "completed" if state.is_completed() else state.type.value.lower()
