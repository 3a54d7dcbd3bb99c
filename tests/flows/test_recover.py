"""The recover flow undoes only what is still in effect, and never its own earlier steps."""

from __future__ import annotations

from drills import seed_names as n
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.recover import recover
from flows.report import Outcome
from flows.timeline import Timeline
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve


def test_a_second_recover_changes_nothing_and_asks_nobody(world: World) -> None:
    healthy_weights = world.weights()
    world.simulator.degrade_region(n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    with Script([approve("alice")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED and world.weights() != healthy_weights
    world.simulator.heal_region(n.PRIMARY_REGION)
    incident_id = incident_id_for(alert)
    with Script([approve("bob"), approve("bob")]):
        first = recover(incident_id=incident_id, settings=settings, requester="bob", return_state=True)
    assert first.is_completed(), first.message
    assert world.weights() == healthy_weights
    timeline_path = settings.incident_dir(incident_id) / "timeline.json"
    applied_before = len(Timeline.load(timeline_path).events("applied"))

    with Script([]) as humans:
        second = recover(incident_id=incident_id, settings=settings, requester="bob", return_state=True)

    assert second.is_completed(), second.message
    assert humans.steps == []  # nobody was asked
    assert world.weights() == healthy_weights  # read back from moto: nothing moved
    assert len(Timeline.load(timeline_path).events("applied")) == applied_before
