"""Run one drill end to end: sandbox, simulator, a local Prefect server, the faults, the
alerts, the incident flow, the responder, optional recovery, and the scorecard.

The flows run exactly as in production: they reach the sandbox only through the client
factory's endpoint setting (FIREBREAK_AWS_ENDPOINT_URL) and Prefect only through its API URL.
One alert runs the incident flow in-process (the quick start stays quick); several alerts (a
re-fire, a second alarm) go through the production intake path (drills/intake.py), so joining
and dedup are what is tested.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_UI_API_URL, temporary_settings
from rich.console import Console

from alerts.models import Alert
from drills.alerting import drill_alert, first_alerts, refired, wait_for_alarm
from drills.clock import DrillClock
from drills.drill_policy import write_drill_policy
from drills.environ import scoped_environment
from drills.faults import inject_bad_deploy, inject_bad_flag, inject_bad_lambda, inject_staging_revision
from drills.intake import DrillIntake, count_incident_runs
from drills.observe import observe
from drills.prefect_server import LocalPrefectServer
from drills.responder import DrillResponder, drill_keys, with_identities
from drills.run_settings import drill_settings
from drills.sandbox import Sandbox
from drills.scenario import DELIVERY_KINDS, Answer, Fault, FaultKind, Responder, Scenario, scenario_policy
from drills.scorecard import Scorecard, score
from drills.seed import seed_checkout, write_catalog
from drills.served_posts import ServedPosts, wait_for_post_runs
from drills.simulator import Simulator
from drills.slack_channel import slack_for
from drills.standins.pagerduty import PagerDutyStandIn
from drills.standins.statuspage import StatusPageStandIn
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.recover import recover
from flows.report import IncidentReport
from flows.settings import RunSettings
from flows.timeline import Timeline
from policies import Policy
from policies.paging import ONCALL
from tasks.catalog import Catalog

__all__ = ["drill_alert", "run_drill", "wait_for_alarm"]

INTAKE_TIMEOUT_SECONDS = 200.0  # every served incident run final within this (a drill is ~1 min)


def _inject(fault: Fault, sandbox: Sandbox, catalog: Catalog, sim: Simulator) -> None:
    if fault.kind is FaultKind.BAD_DEPLOY:
        inject_bad_deploy(sandbox.target(), catalog, fault.region)
    elif fault.kind is FaultKind.BAD_FLAG:
        inject_bad_flag(sandbox.target(), catalog)
    elif fault.kind is FaultKind.BAD_LAMBDA:
        inject_bad_lambda(sandbox.target(), catalog, fault.region)
    elif fault.kind is FaultKind.STAGING_REVISION:
        inject_staging_revision(sandbox.target(), catalog, fault.region)
    elif fault.kind is FaultKind.REGION_DEGRADED:
        sim.degrade_region(fault.region)
    elif fault.kind is FaultKind.DEPENDENCY_DOWN:
        sim.set_dependency_down(True)


def _break(
    scenario: Scenario, sandbox: Sandbox, catalog: Catalog, sim: Simulator, console: Console
) -> datetime:
    """Inject every fault at its time (the simulator has just started); the alert's onset.

    The onset is when the alert region's alarm fired (every alarm of it, for ``second_alarm``),
    or the last fault's time when nothing that fires an alarm was injected (a false alarm).
    """
    started = time.monotonic()
    breaks = False
    at = datetime.now(UTC)
    for fault in scenario.all_faults:
        if fault.kind in DELIVERY_KINDS:
            continue
        time.sleep(max(0.0, started + fault.at - time.monotonic()))
        console.print(f"[bold]fault:[/] {fault.kind.value} ({fault.region})")
        at = datetime.now(UTC)
        _inject(fault, sandbox, catalog, sim)
        breaks = breaks or fault.kind not in {FaultKind.NONE, FaultKind.STAGING_REVISION}
    if not breaks:
        return at
    every = scenario.has(FaultKind.SECOND_ALARM)
    return wait_for_alarm(catalog, sandbox, scenario.alert_region, every=every)


def run_drill(scenario: Scenario, *, output: Path, console: Console, interactive: bool = False) -> Scorecard:
    """Run ``scenario`` and return its scorecard (printing progress to ``console``)."""
    output.mkdir(parents=True, exist_ok=True)
    responder_config = scenario.responder
    if interactive:
        responder_config = responder_config.model_copy(
            update={"approvals": Answer.INTERACTIVE, "human_steps": Answer.INTERACTIVE}
        )
    if scenario.catalog is not None:
        from drills.world.drill import run_world_drill  # imports this module's flush_prefect

        return run_world_drill(scenario, output=output, console=console, responder=responder_config)
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
            scoped_environment(server.env),
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
    responder_config: Responder,
    output: Path,
    console: Console,
) -> Scorecard:
    keys = drill_keys(responder_config.people, output / "keys")
    policy = with_identities(scenario_policy(scenario, source=scenario.name), keys)
    slack, policy = slack_for(responder_config, output, policy, catalog_path)
    policy_path = write_drill_policy(policy, output / "policy.yaml")
    pagerduty = PagerDutyStandIn()
    statuspage = StatusPageStandIn()
    settings = drill_settings(scenario, catalog_path, policy_path, output)
    with (
        pagerduty,
        scoped_environment(pagerduty_environment(pagerduty, Policy.model_validate(policy))),
        statuspage,
        scoped_environment(statuspage.environment()),
        ServedPosts(),  # the status page posts' deployment, as a worker serves it
        slack.serving(policy_path) if slack is not None else nullcontext(),
        Simulator(catalog, sandbox.endpoint_url, clock) as sim,
    ):
        onset = _break(scenario, sandbox, catalog, sim, console)
        alerts = first_alerts(scenario, catalog, onset)
        names = ", ".join(a.name for a in alerts)
        console.print(f"[bold]alert:[/] {names} at {onset:%H:%M:%S}; running incident-response")
        responder = DrillResponder(
            responder_config, console=console, keys=keys, key_folder=output / "keys", slack=slack
        ).start()
        try:
            if scenario.alert_count == 1:
                state = incident_response(alert=alerts[0], settings=settings, return_state=True)
                console.print(f"incident flow: {state.type.value}: {state.message}")
            else:
                through_intake(scenario, alerts, settings, output, console)
            wait_for_post_runs()  # the status page posts, answered while the incident went on
            recovery = _recover(scenario, sim, alerts[0], settings, console)
        finally:
            responder.stop()
    final = observe(catalog, sandbox.endpoint_url)
    incident_id = incident_id_for(alerts[0])
    report = IncidentReport.model_validate_json(
        (settings.incident_dir(incident_id) / "report.json").read_text()
    )
    timeline = Timeline.load(settings.incident_dir(incident_id) / "timeline.json")
    return score(
        scenario,
        report,
        timeline,
        answers=responder.answered,
        recovery=recovery,
        speed=clock.speed,
        final=final,
        incident_runs=count_incident_runs(),
        pages=pagerduty.actions(incident_id),
        status_page=statuspage.statuses(incident_id),
        slack_messages=slack.summary() if slack is not None else None,
    )


def pagerduty_environment(pagerduty: PagerDutyStandIn, policy: Policy) -> dict[str, str]:
    """The drill's people are paged on the stand-in: its URL, and a routing key for every
    variable the policy's escalation levels name."""
    levels = [level for levels in policy.paging.escalation.values() for level in levels]
    keys = {level.routing_key_env: f"drill-{level.name}" for level in [*levels, ONCALL]}
    return {"FIREBREAK_PAGERDUTY_API_URL": pagerduty.url, **keys}


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
                raise TimeoutError(f"incident runs not finished after {INTAKE_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.5)
    if refire_pending:
        console.print("[yellow]re-fire: not sent, no mitigation was applied")


def _applied(timeline_path: Path) -> bool:
    """The incident's timeline records an applied action (it is written atomically)."""
    return timeline_path.exists() and bool(Timeline.load(timeline_path).events("applied"))


def _recover(
    scenario: Scenario, sim: Simulator, alert: Alert, settings: RunSettings, console: Console
) -> str | None:
    if scenario.recovery is None:
        return None
    if scenario.recovery.heal:
        for fault in scenario.all_faults:
            if fault.kind is FaultKind.REGION_DEGRADED:
                sim.heal_region(fault.region)
            elif fault.kind is FaultKind.DEPENDENCY_DOWN:
                sim.set_dependency_down(False)
        console.print(f"[bold]recovery:[/] healed; {scenario.recovery.requester} starts the recover flow")
    state = recover(
        incident_id=incident_id_for(alert),
        settings=settings,
        requester=scenario.recovery.requester,
        return_state=True,
    )
    console.print(f"recover flow: {state.type.value}: {state.message}")
    return "completed" if state.is_completed() else state.type.value.lower()
