"""An alert that joins an open incident widens its scope (issue 24, defect 1): the joined region
is diagnosed, mitigated and verified by the same run, the report says per region what was done,
and the incident is mitigated only when every region is. Against a real Prefect API (the joins
are flow run inputs, as the receiver writes them), moto and the simulator; effects read back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

import flows.incident
import flows.verify
from alerts.joins import JOIN_SENDER, Join, handled_key, join_key
from alerts.models import Alert
from drills import seed_names as n
from drills.faults import inject_bad_deploy
from drills.standins.pagerduty import PagerDutyStandIn
from flows.detect import confirm
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.region_outcome import RegionStatus
from flows.report import Outcome
from flows.resolve import resolve
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve

OTHER_REGION = n.REGIONS[1]


def _join(alert: Alert) -> None:
    """Record ``alert`` on the running incident run, as the receiver does."""
    run_id = flow_run.get_id()
    assert run_id is not None
    join = Join(key=join_key(alert), alert=alert, joined_at=datetime.now(UTC))
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(UUID(run_id), join.key, join.model_dump_json(), sender=JOIN_SENDER)


def _joining_first(real: Callable[..., Any], alert: Alert) -> Callable[..., Any]:
    """``real``, which records ``alert``'s join on the run the first time it is called."""
    calls: list[int] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append(1)
            _join(alert)
        return real(*args, **kwargs)

    return wrapper


def _handled(alert: Alert, run_id: UUID) -> bool:
    with get_client(sync_client=True) as client:
        found = client.filter_flow_run_input(
            run_id, key_prefix=handled_key(alert), limit=1, exclude_keys=set()
        )
    return bool(found)


def test_a_region_that_joins_before_the_diagnosis_is_mitigated_by_the_same_run(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run used to roll back its own region only and end mitigated with the other broken."""
    for region in n.REGIONS:
        inject_bad_deploy(world.sandbox.target(), world.catalog, region)
    alert, other = world.alert(), world.alert(OTHER_REGION)
    settings = world.settings()
    monkeypatch.setattr(flows.incident, "confirm", _joining_first(confirm, other))
    with pagerduty, Script([approve("bob"), approve("bob")]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert state.is_completed() and report.outcome is Outcome.MITIGATED, report.message
    assert [world.task_definition(r) for r in n.REGIONS] == ["checkout:1", "checkout:1"]  # read back
    assert {r.region: r.status for r in report.regions} == dict.fromkeys(n.REGIONS, RegionStatus.RECOVERED)
    assert [r.done for r in report.regions] == [["rollback.ecs: applied"], ["rollback.ecs: applied"]]
    assert timeline.events("scope-widened") and timeline.events("scope-verified")
    assert "## Regions" in (settings.incident_dir(report.incident_id) / "postmortem.md").read_text()
    run_id = state.state_details.flow_run_id
    assert run_id is not None and _handled(other, run_id)


def test_a_region_that_joins_during_the_first_bake_is_taken_up_next(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run read the join after its bake, copied it into the timeline and stopped."""
    for region in n.REGIONS:
        inject_bad_deploy(world.sandbox.target(), world.catalog, region)
    alert, other = world.alert(), world.alert(OTHER_REGION)
    settings = world.settings()
    monkeypatch.setattr(flows.verify, "watch_signal", _joining_first(flows.verify.watch_signal, other))
    with pagerduty, Script([approve("bob"), approve("bob")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED, report.message
    assert [world.task_definition(r) for r in n.REGIONS] == ["checkout:1", "checkout:1"]
    assert [(r.region, r.status) for r in report.regions] == [(r, RegionStatus.RECOVERED) for r in n.REGIONS]


def test_a_region_that_joins_after_the_response_keeps_the_incident_open_and_pages(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A join read only at the report used to be listed, and the incident closed as mitigated."""
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    other = alert.model_copy(update={"region": OTHER_REGION, "fingerprint": "test:late", "name": "late"})
    settings = world.settings()

    def resolve_then_join(*args: Any, **kwargs: Any) -> Any:
        resolution = resolve(*args, **kwargs)
        _join(other)
        return resolution

    monkeypatch.setattr(flows.incident, "resolve", resolve_then_join)
    with pagerduty, Script([approve("bob")]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.task_definition() == "checkout:1"
    assert report.outcome is Outcome.NOT_MITIGATED and "joined after the response" in report.message
    assert [(r.region, r.status) for r in report.regions] == [
        (n.PRIMARY_REGION, RegionStatus.RECOVERED),
        (OTHER_REGION, RegionStatus.NOT_HANDLED),
    ]
    assert "trigger" in pagerduty.actions(incident_id_for(alert))
    run_id = state.state_details.flow_run_id
    assert run_id is not None and not _handled(other, run_id)  # its re-delivery opens an incident
    assert timeline.events("joined-too-late")
