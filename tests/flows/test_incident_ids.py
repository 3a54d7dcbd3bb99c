"""Incident ids carry 128 bits of hash, and a run never continues another alert's timeline."""

from __future__ import annotations

import pytest

from drills.standins.pagerduty import PagerDutyStandIn
from flows import incident as incident_module
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.records import REPORT, TIMELINE
from flows.timeline import Stage, Timeline
from tests.flows.conftest import World
from tests.flows.scripted import Script


def test_an_incident_id_carries_128_bits_of_the_alerts_hash(world: World) -> None:
    digest = incident_id_for(world.alert(wait=False)).rsplit("-", 1)[1]
    assert len(digest) >= 32 and int(digest, 16) >= 0


def test_a_run_whose_id_names_another_alerts_timeline_refuses_and_pages(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A colliding id (forced here) must not append to the victim's timeline nor overwrite its
    report: the run fails, records why beside it and pages a human."""
    settings = world.settings()
    victim = world.alert(wait=False)
    victim_id = incident_id_for(victim)
    folder = settings.incident_dir(victim_id)
    timeline = Timeline(incident_id=victim_id, path=folder / TIMELINE)
    timeline.add(Stage.DETECT, "alert", "the victim's alert", fingerprint=victim.fingerprint,
                 alert=victim.model_dump(mode="json"))  # fmt: skip
    (folder / REPORT).write_text('{"the": "victim\'s report"}')
    before = {name: (folder / name).read_bytes() for name in (TIMELINE, REPORT)}
    intruder = world.alert(wait=False, tag="-collides")
    monkeypatch.setattr(incident_module, "incident_id_for", lambda alert: victim_id)

    with pagerduty, Script([]):
        state = incident_response(alert=intruder, settings=settings, return_state=True)

    assert state.is_failed() and "fingerprint" in str(state.message), state.message
    assert {name: (folder / name).read_bytes() for name in (TIMELINE, REPORT)} == before
    refusals = [p for p in folder.glob("refused-*.json") if not p.name.endswith(".head.json")]
    assert len(refusals) == 1
    refusal = Timeline.load(refusals[0])
    refused = refusal.first("timeline-refused")
    assert refused is not None and refused.data["recorded_fingerprint"] == victim.fingerprint
    assert refused.data["fingerprint"] == intruder.fingerprint
    assert pagerduty.actions(refusal.incident_id) == ["trigger"]
