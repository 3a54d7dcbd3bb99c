"""Issue #7: an on-call lead answers a rollback approval in the Prefect UI, in a real browser.

A bad deploy pauses the incident flow at its rollback approval (conftest); the test reads the
form as an approver would, answers it by clicking, and checks the effect where it matters: the
flow run's state in the Prefect API and the ECS service's task definition in moto.
Screenshots of the form and of the run's artifacts go to the test's tmp_path (printed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType

from drills.prefect_server import LocalPrefectServer
from drills.sandbox import Sandbox
from flows.report import IncidentReport
from flows.timeline import Entry, Timeline
from tests.e2e.browser import ResumeForm
from tests.e2e.conftest import PausedIncident, deployed_task_definition, refuse_everything

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

FLOW_END_TIMEOUT = 90.0  # rollback + bake (20 s) on the approve path, refusals on the other


def _revision(arn: str) -> str:
    """``checkout:2``: how the form's plan table shows a task definition ARN."""
    return arn.rsplit("/", 1)[-1]


def _timeline(incident: PausedIncident) -> Timeline:
    return Timeline.load(incident.settings.incident_dir(incident.incident_id) / "timeline.json")


def _first(timeline: Timeline, event: str) -> Entry:
    entries = timeline.events(event)
    assert entries, f"no {event!r} entry in the timeline: {[e.event for e in timeline.entries]}"
    return entries[0]


def _run_state(incident: PausedIncident) -> tuple[StateType, str]:
    """The flow run's final state as the Prefect API reports it."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(incident.step.flow_run_id).state
    assert state is not None
    return state.type, state.message or ""


def _check_plan_shown(form: ResumeForm, incident: PausedIncident) -> None:
    """The approver sees the change, its blast radius, the evidence, the rule and the deadline."""
    requested = _first(_timeline(incident), "approval-requested")
    deadline = requested.message.rsplit(" until ", 1)[1]  # "... until 03:56:51"
    row = form.dialog.get_by_role("row").filter(has_text=incident.fault.region)
    expect(row.get_by_role("cell")).to_have_text(  # region, before, after
        [incident.fault.region, _revision(incident.fault.after), _revision(incident.fault.before)]
    )
    for text in (
        incident.incident_id,
        "rollback.ecs",
        "Blast radius",
        "50%",
        "PRIMARY deployment of checkout:2 (was checkout:1)",  # the evidence that blames the deploy
        "unhealthy regions: eu-west-1",
        "rollbacks",  # the policy rule that asked
        deadline,
    ):
        expect(form.dialog).to_contain_text(text)
    expect(form.dialog.get_by_role("columnheader")).to_have_text(["changes", "before", "after"])
    expect(form.field("Your name")).to_contain_text("As listed in the policy's approvers")


def _answer_in_ui(
    page: Page, server: LocalPrefectServer, incident: PausedIncident, out: Path, *, approve: bool, who: str
) -> str:
    form = ResumeForm.open(page, server.ui_url, incident.step.flow_run_id)
    _check_plan_shown(form, incident)
    form.dialog.screenshot(path=out / "approval-form.png")
    reason = f"e2e: {'approve' if approve else 'reject'} via the Prefect UI"
    form.answer(approve=approve, approver=who, reason=reason)
    return reason


def _screenshot_artifacts(page: Page, incident: PausedIncident, out: Path) -> None:
    """The finished run's Artifacts tab (on the run page the form was on) lists the evidence,
    the timeline and the postmortem."""
    page.locator(".p-tab", has_text="Artifacts").click()  # the tabs are <li>s without a role
    key = incident.incident_id.lower()
    for suffix in ("evidence", "timeline", "postmortem"):
        expect(page.get_by_text(f"{key}-{suffix}").first).to_be_visible()
    page.screenshot(path=out / "artifacts.png", full_page=True)


def test_approve_in_ui_rolls_back(
    incident: PausedIncident,
    page: Page,
    prefect_server: LocalPrefectServer,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    print(f"\nscreenshots: {tmp_path}")
    assert deployed_task_definition(sandbox) == incident.fault.after

    reason = _answer_in_ui(page, prefect_server, incident, tmp_path, approve=True, who="alice")

    final = incident.run.result(timeout=FLOW_END_TIMEOUT)
    state, message = _run_state(incident)
    assert (state, final.type) == (StateType.COMPLETED, StateType.COMPLETED), message
    assert "mitigated" in message
    assert deployed_task_definition(sandbox) == incident.fault.before  # rolled back, read from moto
    answer = _first(_timeline(incident), "approval-answer")
    assert (answer.actor, reason in answer.message) == ("alice", True)
    _screenshot_artifacts(page, incident, tmp_path)


def test_reject_in_ui_changes_nothing(
    incident: PausedIncident,
    page: Page,
    prefect_server: LocalPrefectServer,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    print(f"\nscreenshots: {tmp_path}")

    reason = _answer_in_ui(page, prefect_server, incident, tmp_path, approve=False, who="bob")
    # The flow then offers its other candidates (and a human checklist): refused the same way.
    refuse_everything(incident.incident_id, incident.run, who="bob", timeout=FLOW_END_TIMEOUT)

    incident.run.result(timeout=10)
    state, message = _run_state(incident)
    assert state is StateType.FAILED, message
    assert "not_mitigated" in message
    assert deployed_task_definition(sandbox) == incident.fault.after  # still the bad revision
    answer = _first(_timeline(incident), "approval-answer")
    assert (answer.actor, "rejected" in answer.message, reason in answer.message) == ("bob", True, True)
    report = IncidentReport.model_validate_json(
        (incident.settings.incident_dir(incident.incident_id) / "report.json").read_text()
    )
    assert [m.status for m in report.mitigations if m.status == "applied"] == []
    assert _timeline(incident).events("applied") == []
    _screenshot_artifacts(page, incident, tmp_path)
