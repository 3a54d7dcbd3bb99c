"""Paging from a real incident run, against the PagerDuty stand-in: trigger while an approval
waits at SEV-1/SEV-2, acknowledge when a human answers, resolve when mitigated; shadow mode
pages nobody; the routing key never reaches the timeline."""

from __future__ import annotations

import json

from prefect.client.orchestration import get_client

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from drills.standins.pagerduty import PagerDutyStandIn
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from tests.flows.conftest import ROUTING_KEY, World, default_policy_data
from tests.flows.scripted import Script, approve


def test_approval_pages_then_acknowledges_then_resolves(world: World, pagerduty: PagerDutyStandIn) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()  # a one-region bad deploy is SEV-2
    with pagerduty, Script([approve("alice")]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert report.severity in ("SEV-1", "SEV-2"), report.message
    assert pagerduty.actions(incident_id_for(alert)) == ["trigger", "acknowledge", "resolve"]
    assert [e.data["action"] for e in timeline.events("page-sent")] == ["trigger", "acknowledge", "resolve"]
    assert world.task_definition() == "checkout:1"
    # The canary (issue 8's test, extended to the routing key): PagerDuty got it, nothing else.
    assert {e["routing_key"] for e in pagerduty.events} == {ROUTING_KEY}
    folder = settings.incident_dir(incident_id_for(alert))
    assert all(ROUTING_KEY.encode() not in p.read_bytes() for p in folder.rglob("*") if p.is_file())
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(run_id)
        logs = prefect.read_logs(limit=200)
        artifacts = prefect.read_artifacts(limit=200)
        inputs = prefect.filter_flow_run_input(run_id, key_prefix="", limit=200, exclude_keys=set())
    assert ROUTING_KEY not in json.dumps(run.parameters, default=str)
    assert logs and ROUTING_KEY not in " ".join(log.message for log in logs)
    assert artifacts and ROUTING_KEY not in json.dumps([a.data for a in artifacts], default=str)
    assert inputs and ROUTING_KEY not in " ".join(i.value for i in inputs)


def test_shadow_mode_pages_nobody(world: World, pagerduty: PagerDutyStandIn) -> None:
    policy = default_policy_data()
    policy["mode"] = "shadow"
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings(policy)
    with pagerduty, Script([]):
        incident_response(alert=alert, settings=settings, return_state=True)
    assert pagerduty.requests == []
