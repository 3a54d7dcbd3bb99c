"""The incident flow's main paths, end to end against the sandbox: state read back from moto."""

from __future__ import annotations

import time

from drills import seed_names as n
from drills.faults import inject_bad_deploy, inject_bad_flag
from flows.incident import incident_response
from flows.report import Outcome
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve, done, reject


def test_bad_flag_is_switched_off_automatically_without_asking(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()
    with Script([]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.flag() == "off"
    assert state.is_completed()
    assert report.outcome is Outcome.MITIGATED
    assert [(m.kind, m.tier, m.status, m.verified) for m in report.mitigations] == [
        ("flags.disable.ssm", "automated", "applied", True)
    ]
    assert humans.steps == [] and timeline.events("approval-requested") == []
    assert timeline.events("applied")[0].data["request_ids"]
    top = timeline.events("hypothesis")[0].data  # the ranking explains itself in the timeline
    assert top["score_parts"] and sum(p["value"] for p in top["score_parts"]) > 0


def test_approved_rollback_restores_the_good_revision(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    assert world.task_definition() == "checkout:2"
    alert = world.alert()
    settings = world.settings()
    with Script([approve("alice")]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.task_definition() == "checkout:1"
    assert state.is_completed() and report.outcome is Outcome.MITIGATED
    assert report.hypotheses[0] == "rollback"
    answer = timeline.events("approval-answer")[0]
    assert answer.actor == "alice" and answer.data["verdict"]["status"] == "approved"
    assert report.recovered_at is not None and report.first_mitigation_at is not None


def test_rejections_change_nothing_and_end_with_a_human(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    weights = world.weights()
    alert = world.alert()
    settings = world.settings()
    # rollback rejected, then the traffic shift rejected, then the human checklist confirmed.
    with Script([reject("alice"), reject("bob"), done("carol")]) as humans:
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    assert world.task_definition() == "checkout:2"
    assert world.weights() == weights
    assert [m.status for m in report.mitigations] == ["rejected", "rejected"]
    assert report.outcome is Outcome.ESCALATED
    assert [s.kind for s in humans.steps] == ["approval", "approval", "human"]


def test_dependency_failure_is_handed_to_a_human_and_nothing_is_changed(world: World) -> None:
    world.simulator.set_dependency_down(True)
    weights = world.weights()
    alert = world.alert()
    settings = world.settings()
    with Script([done("carol")]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert report.hypotheses == ["escalate"] and report.outcome is Outcome.ESCALATED
    assert state.is_completed()
    assert humans.steps[0].kind == "human" and "HUMAN ACTION REQUIRED" in humans.steps[0].description
    assert timeline.events("human-action-confirmed")[0].actor == "carol"
    assert timeline.events("applied") == []
    assert world.weights() == weights and world.task_definition() == "checkout:1" and world.flag() == "off"


def test_unconfirmed_alert_takes_no_action(world: World) -> None:
    time.sleep(3)  # a few healthy datapoints, so "not confirmed" rests on a reading, not on no data
    alert = world.alert(wait=False)
    settings = world.settings()
    state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert report.outcome is Outcome.NOT_CONFIRMED and state.is_completed()
    assert "healthy" in report.message and "None" not in report.message
    assert timeline.events("not-confirmed") and timeline.events("decision") == []


def test_a_fix_that_does_not_verify_escalates_instead_of_chaining(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    world.simulator.set_dependency_down(True)
    alert = world.alert()
    settings = world.settings()
    with Script([done("carol")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.flag() == "off"  # the automated containment was applied...
    assert report.mitigations[0].verified is False  # ...but the signal did not recover
    assert timeline.events("not-recovered")
    assert report.outcome is Outcome.ESCALATED
