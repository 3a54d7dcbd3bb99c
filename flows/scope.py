"""The incident's scope: every region an alert of the incident named, its own and each join's.

A second alert of the service and environment joins the open run (alerts/joins.py) instead of
starting one. The region it names then belongs to this incident: diagnosed, mitigated and
verified here, and the incident is mitigated only when every region of its scope recovered.
The scope is read from the timeline (the alert, then each ``alert-joined`` entry in order), so
a re-run rebuilds it as it was.

When the run ends, :func:`settle` marks each join whose region the run settled as handled (a
flow run input the receiver reads: a re-delivery of it then maps to this run). A join whose
region it never took up (it arrived after the response ended) keeps the incident from closing:
the outcome is not_mitigated, which pages the on-call, and a re-delivery opens an incident.
"""

from __future__ import annotations

import logging
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from alerts.joins import JOIN_SENDER, handled_key
from alerts.models import Alert
from flows.incident_run import IncidentRun
from flows.joined import JOINED_EVENT, record_joins
from flows.region_outcome import RegionOutcome, RegionStatus
from flows.report import IncidentReport, Outcome
from flows.timeline import Stage

log = logging.getLogger(__name__)

WIDENED_EVENT = "scope-widened"


def affected_regions(run: IncidentRun) -> dict[str, Alert]:
    """Region -> the first alert that named it: the run's own region first, then each joined
    alert's region in the order they joined. A joined alert without a region names the
    service's primary region; one naming a region the catalog lacks is left out (recorded by
    :func:`widen`)."""
    return {region: alerts[0] for region, alerts in _by_region(run).items()}


def alert_names(run: IncidentRun) -> dict[str, list[str]]:
    """Region -> the names of every alert of the incident that named it, in scope order."""
    return {region: list(dict.fromkeys(a.name for a in alerts)) for region, alerts in _by_region(run).items()}


def _by_region(run: IncidentRun) -> dict[str, list[Alert]]:
    scope: dict[str, list[Alert]] = {run.region: [run.alert]}
    for alert in _joined(run):
        region = _region_of(run, alert)
        if region in run.entry.regions:
            scope.setdefault(region, []).append(alert)
    return scope


def _region_of(run: IncidentRun, alert: Alert) -> str:
    return alert.region or run.entry.primary_region


def _joined(run: IncidentRun) -> list[Alert]:
    return [
        Alert.model_validate(e.data["alert"])
        for e in run.timeline.events(JOINED_EVENT)
        if isinstance(e.data.get("alert"), dict)
    ]


def widen(run: IncidentRun, stage: Stage) -> list[str]:
    """Read new joins into the timeline; the regions they add to the scope, each recorded."""
    before = set(affected_regions(run))
    if record_joins(run.timeline, stage) == 0:
        return []
    added = [r for r in affected_regions(run) if r not in before]
    for region in added:
        run.timeline.add(
            stage,
            WIDENED_EVENT,
            f"{region} joined the incident's scope: it is diagnosed, mitigated and verified here",
            region=region,
        )
    uncatalogued = {a.region for a in _joined(run) if a.region and a.region not in run.entry.regions}
    for region in sorted(uncatalogued - before):
        run.timeline.add(stage, "scope-unknown-region", f"a joined alert names {region}, not in the catalog")
    return added


def settle(run: IncidentRun, report: IncidentReport) -> IncidentReport:
    """At the end of the run: read the last joins, mark handled the ones whose region the run
    settled (its own region, however it ended, and each region with an outcome), and add a
    ``not_handled`` line for each region it never took up. Such a region means the incident is
    not over: an outcome that would close it (mitigated, not confirmed, escalated) becomes
    not_mitigated, which pages the on-call."""
    widen(run, Stage.REPORT)
    settled = {run.region} | {o.region for o in report.regions}
    late = {region: names for region, names in alert_names(run).items() if region not in settled}
    for alert in _joined(run):
        if _region_of(run, alert) in settled:
            _mark_handled(run, alert)
    if not late:
        return report
    why = f"alerts for {', '.join(late)} joined after the response ended: not acted on"
    run.timeline.add(Stage.REPORT, "joined-too-late", why, regions=list(late))
    regions = report.regions + [
        RegionOutcome(region=region, alerts=names, status=RegionStatus.NOT_HANDLED)
        for region, names in late.items()
    ]
    if report.outcome not in CLOSING:
        return report.model_copy(update={"regions": regions})
    message = f"{report.message}; {why}"
    return report.model_copy(
        update={"regions": regions, "outcome": Outcome.NOT_MITIGATED, "message": message}
    )


CLOSING = frozenset({Outcome.MITIGATED, Outcome.NOT_CONFIRMED, Outcome.ESCALATED})
"""Outcomes that would end the incident for good: not while one of its regions was never taken up."""


def _mark_handled(run: IncidentRun, alert: Alert) -> None:
    """Write the join's handled mark on this run; a failure is logged: the receiver then opens
    an incident for a re-delivery, the safe side."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    try:
        with get_client(sync_client=True) as client:
            client.create_flow_run_input(
                UUID(str(run_id)), handled_key(alert), '"handled"', sender=JOIN_SENDER
            )
    except httpx.HTTPError as e:  # Prefect's status errors are httpx's
        if isinstance(e, httpx.HTTPStatusError) and e.response.status_code == httpx.codes.CONFLICT:
            return  # marked by an earlier attempt of this run
        log.warning("could not mark the join of %s handled on run %s: %s", alert.dedup_key, run_id, e)
