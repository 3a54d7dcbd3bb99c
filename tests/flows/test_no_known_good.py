"""When no record says what ran before, Firebreak does not roll back: a human gets what is known."""

from __future__ import annotations

from drills import moto_gaps
from drills import seed_names as n
from drills.faults import inject_bad_deploy
from flows.incident import incident_response
from flows.report import MitigationStatus, Outcome
from tests.flows.conftest import World
from tests.flows.scripted import Script, done, reject

ACCOUNT = "123456789012"


def test_no_history_means_no_rollback_and_the_checklist_says_what_is_known(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    for region in world.catalog.entry(n.SERVICE, n.ENVIRONMENT).regions:
        moto_gaps._events(ACCOUNT, region).clear()  # an account whose trail has no history
    alert = world.alert()
    settings = world.settings()
    # The traffic shift is rejected, so the human checklist is the last word.
    with Script([reject("alice"), done("carol")]) as humans:
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.task_definition() == "checkout:2"  # read back: nothing rolled back
    failed = [m for m in report.mitigations if m.status is MitigationStatus.FAILED]
    assert failed and all("no record says what ran before" in m.detail for m in failed)
    assert report.mitigations[-1].kind == "traffic.shift.route53"  # still tried, and rejected
    steps = timeline.events("human-action-requested")[-1].data["steps"]
    assert any("no record says what ran before" in step for step in steps)
    assert report.outcome is Outcome.ESCALATED and len(humans.steps) == 2
