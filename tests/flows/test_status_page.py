"""Status page updates from a real incident run, against the Statuspage stand-in: each posted by
its own run of the served post deployment only after two approvals (comms.statuspage), while the
incident goes on; nothing posted when rejected; a re-run creates no second page incident; the
API key reaches the stand-in and nothing else."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRunInput

from alerts.models import Alert
from drills import served_posts
from drills.faults import inject_bad_flag
from drills.seed import write_catalog
from drills.standins.pagerduty import PagerDutyStandIn
from drills.standins.statuspage import StatusPageStandIn
from flows import status_runs
from flows.escalation import WAIT_PREFIX, escalation_pass
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.killswitch import set_kill_switch
from flows.pending import PendingStep
from flows.report import Outcome
from flows.settings import RunSettings
from flows.timeline import Timeline
from tasks.catalog import Catalog, StatusPageComponents
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script, approve, reject

API_KEY = "SPKEYCANARY0123456789abcdefghijk"
COMPONENTS = ["cmp-checkout-api", "cmp-checkout-web"]


def with_status_page(catalog: Catalog) -> Catalog:
    page = StatusPageComponents(name="Checkout", components=COMPONENTS)
    services = {
        service: {env: entry.model_copy(update={"status_page": page}) for env, entry in envs.items()}
        for service, envs in catalog.services.items()
    }
    return Catalog(services=services)


@pytest.fixture(scope="module")
def posts(prefect_api: None) -> Iterator[None]:
    """The post deployment served, as a worker serves it in production."""
    with served_posts.ServedPosts():
        yield


@pytest.fixture
def page_world(world: World, posts: None, monkeypatch: pytest.MonkeyPatch) -> World:
    catalog = with_status_page(world.catalog)
    path = write_catalog(catalog, world.tmp / "catalog-status-page.yaml")
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(path))  # the host's catalog
    return dataclasses.replace(world, catalog=catalog, catalog_path=path)


@pytest.fixture
def statuspage(monkeypatch: pytest.MonkeyPatch) -> StatusPageStandIn:
    stand_in = StatusPageStandIn(api_key=API_KEY)
    for name, value in stand_in.environment().items():
        monkeypatch.setenv(name, value)
    return stand_in


def wait_for_post_runs() -> None:
    """Until every status page post run is final: they run on their own, after the incident's."""
    served_posts.wait_for_post_runs(timeout=300)


def post_timeline(settings: RunSettings, alert: Alert, status: str) -> Timeline:
    """The post run's own timeline (its approvals and outcome), beside the incident's."""
    return Timeline.load(settings.incident_dir(incident_id_for(alert)) / f"statuspage-{status}.json")


def two_approvals() -> list[dict[str, Any]]:
    return [approve("erin"), approve("frank")]


def test_updates_are_posted_only_after_two_approvals(
    page_world: World, statuspage: StatusPageStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    pagerduty = PagerDutyStandIn()
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_API_URL", pagerduty.url)
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_ROUTING_KEY", "drill-oncall")
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    with statuspage, pagerduty, Script([*two_approvals(), *two_approvals()]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
    report, timeline = page_world.report(alert, settings)
    incident_id = incident_id_for(alert)
    assert report.outcome is Outcome.MITIGATED, report.message
    assert statuspage.statuses(incident_id) == ["investigating", "resolved"]
    (page_incident,) = statuspage.incidents.values()
    assert set(page_incident["incident_updates"][0]["affected_components"][0].values()) >= {"operational"}
    # The incident's timeline names the run carrying each post; the incident asked no approval.
    started = timeline.events("statuspage-started")
    assert [e.data["status"] for e in started] == ["investigating", "resolved"]
    assert timeline.events("approval-requested") == []
    # Each post waited in its own run for its plan's second approval.
    for status in ("investigating", "resolved"):
        own = post_timeline(settings, alert, status)
        assert [e.data["plan"]["kind"] for e in own.events("approval-requested")] == ["comms.statuspage"]
        answers = [e.event for e in own.entries if e.event in ("approval-answer", "statuspage-posted")]
        assert answers == ["approval-answer", "approval-answer", "statuspage-posted"]
    assert [s.kind for s in humans.steps] == ["approval"] * 4
    # A comms approval pages nobody: the flag's disable is automated, so nothing was paged.
    assert pagerduty.actions(incident_id) == []
    # The canary: the key reached the stand-in, in its header, and nothing else.
    assert set(statuspage.auth_headers) == {f"OAuth {API_KEY}"}
    folder = settings.incident_dir(incident_id)
    assert all(API_KEY.encode() not in p.read_bytes() for p in folder.rglob("*") if p.is_file())
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(run_id)
        logs = prefect.read_logs(limit=200)
        artifacts = prefect.read_artifacts(limit=200)
        runs = [run, *served_posts.post_runs()]
        inputs = [
            i
            for r in runs
            for i in prefect.filter_flow_run_input(r.id, key_prefix="", limit=200, exclude_keys=set())
        ]
    assert API_KEY not in json.dumps([r.parameters for r in runs], default=str)
    assert logs and API_KEY not in " ".join(log.message for log in logs)
    assert artifacts and API_KEY not in json.dumps([a.data for a in artifacts], default=str)
    assert inputs and API_KEY not in " ".join(i.value for i in inputs)


def test_a_rejected_update_is_not_posted_and_the_timeline_says_so(
    page_world: World, statuspage: StatusPageStandIn
) -> None:
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    with statuspage, Script([reject("erin"), reject("erin")]):
        incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
    report, timeline = page_world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED, report.message  # the incident went on
    assert statuspage.requests == [] and statuspage.incidents == {}
    drafts = [e.data["draft"]["status"] for e in timeline.events("statuspage-draft")]
    assert drafts == ["investigating", "resolved"]
    for status in drafts:
        (not_sent,) = post_timeline(settings, alert, status).events("statuspage-not-sent")
        assert "rejected" in not_sent.message


def test_a_re_run_updates_the_page_incident_the_first_run_created(
    page_world: World, statuspage: StatusPageStandIn
) -> None:
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    with statuspage, Script([*two_approvals(), reject("erin"), *two_approvals()]):
        incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
        assert statuspage.statuses(incident_id_for(alert)) == ["investigating"]
        inject_bad_flag(page_world.sandbox.target(), page_world.catalog)  # it breaks again...
        page_world.alert()  # ...its alarm fires, and the same incident's run starts again
        incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
    report, timeline = page_world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED, report.message
    assert len(statuspage.incidents) == 1
    assert statuspage.statuses(incident_id_for(alert)) == ["investigating", "resolved"]
    assert [method for method, status, _ in statuspage.requests] == ["POST", "PATCH"]
    drafts = [e.data["draft"]["status"] for e in timeline.events("statuspage-draft")]
    assert drafts == ["investigating", "resolved", "resolved"]  # investigating was not drafted again


def test_shadow_mode_asks_nobody_and_posts_nothing(page_world: World, statuspage: StatusPageStandIn) -> None:
    policy = default_policy_data()
    policy["mode"] = "shadow"
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings(policy)
    with statuspage, Script([]) as humans:
        incident_response(alert=alert, settings=settings, return_state=True)
    _, timeline = page_world.report(alert, settings)
    assert statuspage.requests == [] and humans.steps == []
    (not_sent,) = timeline.events("statuspage-not-sent")
    assert not_sent.message.startswith("status page investigating not sent: shadow mode")


def test_the_kill_switch_flipped_during_the_approval_stops_the_post(
    page_world: World, statuspage: StatusPageStandIn
) -> None:
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    with statuspage, Script([*two_approvals()], before=lambda step: set_kill_switch(True)):
        incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
    assert statuspage.requests == []
    (not_sent,) = post_timeline(settings, alert, "investigating").events("statuspage-not-sent")
    assert "denied after approval" in not_sent.message


def test_the_mitigation_goes_on_while_the_comms_approval_waits(
    page_world: World, statuspage: StatusPageStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    pagerduty = PagerDutyStandIn()
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_API_URL", pagerduty.url)
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_ROUTING_KEY", "drill-oncall")
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    seen_while_waiting: list[str] = []
    waits: list[FlowRunInput] = []

    def when_the_flag_is_off(step: PendingStep) -> dict[str, Any]:
        """The first comms lead answers only once the flag reads off in moto (or 90 s passed)."""
        for _ in range(300):
            if page_world.flag() == "off":
                break
            time.sleep(0.3)
        seen_while_waiting.append(page_world.flag())
        # Two hours unanswered: the escalation pass pages no level, as the post run announced
        # no wait for it to escalate.
        escalation_pass(now=datetime.now(UTC) + timedelta(hours=2))
        with get_client(sync_client=True) as prefect:
            waits.extend(
                prefect.filter_flow_run_input(
                    step.flow_run_id, key_prefix=WAIT_PREFIX, limit=10, exclude_keys=set()
                )
            )
        return approve("erin")

    with statuspage, pagerduty, Script([when_the_flag_is_off, approve("frank"), *two_approvals()]):
        incident_response(alert=alert, settings=settings, return_state=True)
        wait_for_post_runs()
    report, _ = page_world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED, report.message
    # The flag was switched off (read back from moto) while the investigating post still waited.
    assert seen_while_waiting == ["off"]
    assert waits == [] and pagerduty.actions(incident_id_for(alert)) == []
    assert statuspage.statuses(incident_id_for(alert)) == ["investigating", "resolved"]


def test_without_the_post_deployment_nothing_is_posted_and_the_timeline_says_so(
    page_world: World, statuspage: StatusPageStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_runs, "POST_DEPLOYMENT", "status-page-update/not-deployed")
    inject_bad_flag(page_world.sandbox.target(), page_world.catalog)
    alert = page_world.alert()
    settings = page_world.settings()
    with statuspage, Script([]) as humans:
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = page_world.report(alert, settings)
    assert report.outcome is Outcome.MITIGATED, report.message
    assert statuspage.requests == [] and humans.steps == []
    drafts = [e.data["draft"]["status"] for e in timeline.events("statuspage-draft")]
    assert drafts == ["investigating", "resolved"]  # the drafts are kept
    not_sent = timeline.events("statuspage-not-sent")
    assert len(not_sent) == 2 and all(
        "status-page-update/not-deployed not found" in e.message for e in not_sent
    )
    assert timeline.events("statuspage-started") == []
