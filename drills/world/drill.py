"""A drill's world, fault by fault: what the runner (``drills/runner.py``) asks of a catalog.

Every fault is checked against the catalog before anything starts (:func:`plan_faults`), injected
at its time (:func:`break_world`), each broken service's alarm alert is made once that alarm
fires (:func:`world_alerts`), and every incident is scored (:func:`score_incident`): ``expect``
for the scenario's service, ``expect_services`` for the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console

from alerts.models import Alert
from drills import moto_denials
from drills.alerting import alarm_alert, wait_for_alarm
from drills.health import SandboxState
from drills.sandbox import Sandbox
from drills.scenario import (
    DELIVERY_KINDS,
    Expectations,
    Fault,
    FaultKind,
    Scenario,
    ScenarioError,
)
from drills.scorecard import Scorecard, score, with_services
from drills.standins.pagerduty import PagerDutyStandIn
from drills.standins.statuspage import StatusPageStandIn
from drills.world import faults as wf
from drills.world.final import read_final
from drills.world.observability import alarm_metrics
from drills.world.simulator import WorldSimulator
from flows.incident_run import incident_id_for
from flows.report import IncidentReport
from flows.settings import RunSettings
from flows.timeline import Timeline
from tasks.catalog import Catalog

ENVIRONMENT = "prod"
ALARM_TIMEOUT_SECONDS = 30.0
HARMLESS = frozenset({FaultKind.NONE, FaultKind.NOISE_DEPLOY, FaultKind.STAGING_REVISION, FaultKind.DENY})
BREAKS = frozenset(FaultKind) - HARMLESS - DELIVERY_KINDS  # faults that fire an alarm


@dataclass(frozen=True)
class Planned:
    """A fault with its service and region settled against the catalog."""

    fault: Fault
    kind: (
        wf.WorldFaultKind | None
    )  # None: nothing in the world (none, deny; refire and second_alarm are alerts)
    service: str
    region: str | None


def main_service(scenario: Scenario, catalog: Catalog) -> str:
    """The service ``expect`` is about: ``service:``, else the catalog's only one, else checkout."""
    if scenario.service is not None:
        return scenario.service
    if len(catalog.services) == 1:
        return next(iter(catalog.services))
    return "checkout"


def plan_faults(scenario: Scenario, catalog: Catalog) -> list[Planned]:
    """Every fault checked against the catalog; ScenarioError names the one it cannot host."""
    service = main_service(scenario, catalog)
    planned = []
    for i, fault in enumerate(scenario.all_faults):
        owner = fault.service or service
        region = fault.region_given
        if fault.kind in DELIVERY_KINDS:
            _check_delivery(scenario, catalog, fault, i, service)
            planned.append(Planned(fault, None, owner, region))
            continue
        kind = None if fault.kind in {FaultKind.NONE, FaultKind.DENY} else wf.WorldFaultKind(fault.kind.value)
        for where in fault.regions_given:  # bad_deploy's regions: one injection each
            if kind is not None:
                try:
                    wf.check_fault(
                        catalog, kind, service=owner, environment=ENVIRONMENT, region=where,
                        flag=fault.flag, dependency=fault.dependency,
                    )  # fmt: skip
                except wf.FaultHostError as e:
                    raise ScenarioError(f"faults.{i}: {e}") from e
            planned.append(Planned(fault, kind, owner, where))
    return planned


def breaching_alarms(planned: list[Planned], catalog: Catalog) -> set[tuple[str, str]]:
    """(service, region) of every total outage: the world builds those alarms with
    ``TreatMissingData: breaching`` from the start, so nothing about them changes in the drill."""
    return {
        (p.service, p.region or catalog.entry(p.service, ENVIRONMENT).primary_region)
        for p in planned
        if p.kind is wf.WorldFaultKind.TOTAL_OUTAGE
    }


def _check_delivery(scenario: Scenario, catalog: Catalog, fault: Fault, i: int, main: str) -> None:
    """``refire`` and ``second_alarm`` are about the scenario's service and its alert region (the
    first broken region of it); ``second_alarm`` needs a second alarm there."""
    if fault.service not in {None, main}:
        raise ScenarioError(f"faults.{i}: {fault.kind.value} is about the scenario's service {main}")
    if fault.kind is not FaultKind.SECOND_ALARM:
        return
    entry = catalog.entry(main, ENVIRONMENT)
    regions = [f.region_given or entry.primary_region for f in scenario.all_faults if f.kind in BREAKS]
    region = regions[0] if regions else entry.primary_region
    other = fault.region_given
    if other is None:
        if len(entry.region(region).alarms) < 2:
            raise ScenarioError(f"faults.{i}: second_alarm: {main} has fewer than two alarms in {region}")
        return
    alert_region = scenario.alert_region if "alert_region" in scenario.model_fields_set else region
    if other == alert_region or other not in entry.regions or not entry.regions[other].alarms:
        raise ScenarioError(
            f"faults.{i}: second_alarm: region {other} must be another region of {main} with an alarm "
            f"(alert region {alert_region}; regions {sorted(entry.regions)})"
        )


def break_world(
    planned: list[Planned], sim: WorldSimulator, sandbox: Sandbox, catalog: Catalog, console: Console
) -> dict[str, str]:
    """Inject every fault at its time; service -> the region whose alarm will tell."""
    started = time.monotonic()
    broken: dict[str, str] = {}
    for p in planned:
        if p.fault.kind in DELIVERY_KINDS:
            continue
        time.sleep(max(0.0, started + p.fault.at - time.monotonic()))
        if p.fault.action is not None:  # deny: the sandbox refuses it to Firebreak from now on
            console.print(f"[bold]fault:[/] deny {p.fault.action} to Firebreak")
            moto_denials.deny(p.fault.action)
            continue
        entry = catalog.entry(p.service, ENVIRONMENT)
        region = p.region or entry.primary_region
        console.print(f"[bold]fault:[/] {p.fault.kind.value} ({p.service}, {region})")
        _inject(p, sim, sandbox, catalog, region)
        if p.fault.kind in BREAKS:
            broken.setdefault(p.service, region)
    return broken


def _inject(p: Planned, sim: WorldSimulator, sandbox: Sandbox, catalog: Catalog, region: str) -> None:
    entry = catalog.entry(p.service, ENVIRONMENT)
    target, res = sandbox.target(region), entry.regions[region]
    kind = p.kind
    if kind is wf.WorldFaultKind.BAD_DEPLOY:
        wf.bad_deploy(target, res)
    elif kind is wf.WorldFaultKind.BAD_LAMBDA:
        wf.bad_lambda(target, res)
    elif kind is wf.WorldFaultKind.BAD_LAUNCH_TEMPLATE:
        wf.bad_launch_template(target, res)
    elif kind is wf.WorldFaultKind.NOISE_DEPLOY:
        wf.noise_deploy(target, res)
    elif kind is wf.WorldFaultKind.STAGING_REVISION:
        wf.staging_revision(target, res)
    elif kind is wf.WorldFaultKind.BAD_FLAG:
        sim.harm_flag(p.service, p.fault.flag or "")
        wf.flag_on(target, entry, p.fault.flag or "")
    elif kind is wf.WorldFaultKind.REGION_DEGRADED:
        sim.degrade(p.service, region, p.fault.error_rate)
    elif kind is wf.WorldFaultKind.DEPENDENCY_DOWN:
        sim.set_dependency(p.service, p.fault.dependency, down=True)
    elif kind is wf.WorldFaultKind.TRAFFIC_SPIKE:
        sim.spike(p.service, p.fault.factor, p.region)
    elif kind is wf.WorldFaultKind.TOTAL_OUTAGE:
        sim.total_outage(p.service, region)


def world_alerts(
    scenario: Scenario, catalog: Catalog, sandbox: Sandbox, broken: dict[str, str], main: str
) -> list[Alert]:
    """Each broken service's first alarm alert, once that alarm fires (a false alarm: the main
    service's first alarm, at once), the main service's first; with ``second_alarm`` the main
    service's second alarm too, once both fire. The main service's alarm is the one in the
    scenario's ``alert_region`` when the file names one, else in its first broken region."""
    targets = broken or {main: catalog.entry(main, ENVIRONMENT).primary_region}
    if main in targets and "alert_region" in scenario.model_fields_set:
        targets = {**targets, main: scenario.alert_region}
    ordered = sorted(targets.items(), key=lambda item: item[0] != main)
    second = any(f.kind is FaultKind.SECOND_ALARM and f.region_given is None for f in scenario.all_faults)
    alerts = []
    for service, region in ordered:
        resources = catalog.entry(service, ENVIRONMENT).region(region)
        if not resources.alarms:
            raise ScenarioError(f"{service} has no alarm in {region} to raise the alert")
        both = second and service == main
        onset = (
            wait_for_alarm(
                catalog, sandbox, region, ALARM_TIMEOUT_SECONDS, every=both, service=service,
                environment=ENVIRONMENT,
            )
            if broken
            else datetime.now(UTC)
        )  # fmt: skip
        metrics = alarm_metrics(resources, f"services.{service}.{ENVIRONMENT}.regions.{region}")
        for alarm in resources.alarms[: 2 if both else 1]:
            alerts.append(alarm_alert(scenario, service, ENVIRONMENT, region, alarm, metrics[alarm], onset))
    return alerts


def second_region_alerts(scenario: Scenario, catalog: Catalog, sandbox: Sandbox, main: str) -> list[Alert]:
    """The alerts of ``second_alarm`` faults with a ``region:``: that region's first alarm of the
    main service, once it fires (the drill delivers them when the first fix is applied)."""
    alerts = []
    for fault in scenario.all_faults:
        region = fault.region_given
        if fault.kind is not FaultKind.SECOND_ALARM or region is None:
            continue
        resources = catalog.entry(main, ENVIRONMENT).region(region)
        onset = wait_for_alarm(
            catalog, sandbox, region, ALARM_TIMEOUT_SECONDS, service=main, environment=ENVIRONMENT
        )
        alarm = resources.alarms[0]
        metrics = alarm_metrics(resources, f"services.{main}.{ENVIRONMENT}.regions.{region}")
        alerts.append(alarm_alert(scenario, main, ENVIRONMENT, region, alarm, metrics[alarm], onset))
    return alerts


def expectations(scenario: Scenario, main: str) -> dict[str, Expectations]:
    """Service -> what its incident must show: ``expect`` for ``main``, ``expect_services`` for the rest."""
    return {main: scenario.expect, **scenario.expect_services}


@dataclass(frozen=True)
class Record:
    """What the drill saw, shared by every incident's scorecard."""

    answers: list[str]
    recovery: str | None
    speed: float
    incident_runs: int
    pagerduty: PagerDutyStandIn
    statuspage: StatusPageStandIn
    slack_messages: list[str] | None  # None: the people do not answer in Slack


def final_state_of(catalog: Catalog, sandbox: Sandbox, service: str) -> SandboxState:
    """The service read back for ``expect.final_state`` (whatever resources it has)."""
    return read_final(catalog, sandbox.endpoint_url, service=service, environment=ENVIRONMENT)


def score_incident(
    scenario: Scenario,
    expect: Expectations,
    settings: RunSettings,
    alert: Alert,
    record: Record,
    final: SandboxState | None,
) -> Scorecard:
    """One incident's scorecard against ``expect``, from its own report and timeline."""
    incident_id = incident_id_for(alert)
    folder = settings.incident_dir(incident_id)
    report = IncidentReport.model_validate_json((folder / "report.json").read_text())
    timeline = Timeline.load(folder / "timeline.json")
    return score(
        scenario.model_copy(update={"expect": expect}),
        report,
        timeline,
        answers=record.answers,
        recovery=record.recovery,
        speed=record.speed,
        final=final,
        incident_runs=record.incident_runs,
        pages=record.pagerduty.actions(incident_id),
        status_page=record.statuspage.statuses(incident_id),
        slack_messages=record.slack_messages,
    )


def score_all(
    scenario: Scenario,
    catalog: Catalog,
    sandbox: Sandbox,
    settings: RunSettings,
    alerts: list[Alert],
    record: Record,
) -> Scorecard:
    """The main service's scorecard with every other expected service's checks added; a
    ScenarioError when an expected service raised no alert."""
    main = main_service(scenario, catalog)
    by_service: dict[str | None, Alert] = {}
    for alert in alerts:  # a service's first alert is its incident's (a second alarm joins it)
        by_service.setdefault(alert.service, alert)
    wanted = expectations(scenario, main)
    missing = set(wanted) - set(by_service)
    if missing:
        raise ScenarioError(f"{scenario.name}: no alert was raised for {sorted(missing)}")
    cards = {
        service: score_incident(
            scenario,
            expect_for,
            settings,
            by_service[service],
            record,
            final_state_of(catalog, sandbox, service) if expect_for.final_state is not None else None,
        )
        for service, expect_for in wanted.items()
    }
    main_card = cards.pop(main)
    return with_services(main_card, cards)
