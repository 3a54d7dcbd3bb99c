"""An alert for a service whose recovery is running stops that recovery at its next step
(issue 24): the emergency measures still in place stay, the recovery's timeline says why, and
the recover run carries the service's tags. Against Prefect (the open incident run is a real
flow run with the receiver's tags), moto and the simulator; the weights are read back."""

from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.states import Cancelled, Scheduled

from alerts.open_incident import incident_tags
from drills import seed_names as n
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.recover import recover
from flows.report import Outcome
from flows.timeline import Timeline
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve


@flow(name="incident-response")
def _incident_stand_in() -> None:
    """Stands for the incident run the receiver creates for a new alert (never run here)."""


def test_a_new_incident_of_the_service_stops_its_recovery_and_the_measures_stay(world: World) -> None:
    """The recovery used to go on, moving traffic back while a new incident was being handled."""
    world.simulator.degrade_region(n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    with Script([approve("alice")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED
    shifted = world.weights()
    world.simulator.heal_region(n.PRIMARY_REGION)
    with get_client(sync_client=True) as client:  # a new alert for checkout: the receiver's run
        new = client.create_flow_run(
            _incident_stand_in, tags=["incident", *incident_tags(alert)], state=Scheduled()
        )
    incident_id = incident_id_for(alert)
    try:
        with Script([approve("bob"), approve("bob")]) as humans:
            state = recover(incident_id=incident_id, settings=settings, requester="bob", return_state=True)
    finally:  # the session's Prefect server outlives this test: no open checkout incident left behind
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(new.id, Cancelled(), force=True)
    assert state.is_cancelled(), state.message
    assert world.weights() == shifted and humans.steps == []  # read back: nothing moved back
    [stopped] = Timeline.load(settings.incident_dir(incident_id) / "timeline.json").events("recovery-stopped")
    assert str(new.id) in stopped.message and "stay" in stopped.message
    with get_client(sync_client=True) as client:
        tagged = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["firebreak.recovery"]))
        )
    assert any(set(incident_tags(alert)) <= set(r.tags) for r in tagged)
