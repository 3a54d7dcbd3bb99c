"""Approval gate, kill switch and rate limits, through real pauses answered via the resume API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drills import seed_names as n
from drills.faults import inject_bad_deploy, inject_bad_flag
from flows.incident import incident_response
from flows.killswitch import set_kill_switch
from flows.pending import PendingStep
from flows.report import Outcome
from flows.runbooks import rollback
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script, approve, done


def _verdicts(world: World, timeline_events: list[Any]) -> list[dict[str, Any]]:
    return [e.data["verdict"] for e in timeline_events]


def _rollback_rule(policy: dict[str, Any]) -> dict[str, Any]:
    # The approval rule a prod rollback meets first (issue 15: it needs a verified identity).
    rule: dict[str, Any] = next(r for r in policy["approvals"] if r["name"] == "prod-rollbacks")
    return rule


def test_unknown_approver_and_self_approval_are_refused_then_a_lead_approves(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    settings = world.settings()
    with Script([approve("mallory"), approve("alice"), approve("bob")]) as humans:
        state = rollback(
            service=n.SERVICE,
            environment=n.ENVIRONMENT,
            region=n.PRIMARY_REGION,
            settings=settings,
            requester="alice",
            return_state=True,
        )
    assert state.is_completed(), state.message
    assert world.task_definition() == "checkout:1"
    assert len(humans.steps) == 3  # re-asked after each refused answer
    incident = settings.incident_dir(next(p.name for p in (world.tmp / "incidents").iterdir()))
    from flows.timeline import Timeline

    answers = Timeline.load(incident / "timeline.json").events("approval-answer")
    reasons = [" ".join(a.data["verdict"]["reasons"]) for a in answers]
    assert "mallory" in reasons[0] and answers[0].data["verdict"]["status"] == "pending"
    assert "alice" in reasons[1] and answers[1].data["verdict"]["status"] == "pending"
    assert answers[2].data["verdict"]["status"] == "approved"
    assert answers[2].data["verdict"]["accepted"] == ["bob"]
    assert answers[0].message.startswith("refused: mallory is not an allowed approver under rule")
    assert answers[1].message.startswith("refused: alice")  # the requester
    assert "approved" not in answers[0].message and "approved" in answers[2].message


def test_two_distinct_approvers_are_needed_when_the_policy_says_so(world: World) -> None:
    policy = default_policy_data()
    _rollback_rule(policy)["min_approvers"] = 2
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings(policy)
    with Script([approve("alice"), approve("alice"), approve("bob")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    statuses = [a.data["verdict"]["status"] for a in timeline.events("approval-answer")]
    assert statuses == ["pending", "pending", "approved"]
    assert timeline.events("approval-answer")[-1].data["verdict"]["accepted"] == ["alice", "bob"]
    assert world.task_definition() == "checkout:1" and report.outcome is Outcome.MITIGATED


def test_an_answer_for_another_plan_hash_is_refused(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    stale = {**approve("alice"), "plan_hash": "0000000000000000"}
    with Script([stale, approve("alice")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    _, timeline = world.report(alert, settings)
    first, second = timeline.events("approval-answer")
    assert first.data["verdict"]["status"] == "pending"
    assert "answered for plan 0000000000000000" in " ".join(first.data["verdict"]["reasons"])
    assert second.data["verdict"]["status"] == "approved"
    assert world.task_definition() == "checkout:1"


def test_unanswered_approval_times_out_escalates_and_changes_nothing(world: World) -> None:
    policy = default_policy_data()
    _rollback_rule(policy).update(timeout_seconds=4, on_timeout="escalate")
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    weights = world.weights()
    alert = world.alert()
    settings = world.settings(policy)
    with Script([None]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert [(m.status, m.on_timeout) for m in report.mitigations] == [("timed_out", "escalate")]
    assert report.mitigations[0].detail.startswith("no sufficient approval by")
    assert timeline.events("approval-timeout")
    # The policy says escalate: no further automated candidate (the traffic shift) is tried.
    assert world.task_definition() == "checkout:2" and world.weights() == weights
    assert report.outcome is Outcome.NOT_MITIGATED
    # Prefect ends any run whose pause timed out as Failed (and refuses further pauses, so
    # the human is paged by the status update instead); the report says what happened.
    assert timeline.events("human-action-impossible") and timeline.events("status-sent")
    assert state.is_failed()


def test_kill_switch_flipped_while_waiting_for_approval_stops_everything(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()

    def flip(step: PendingStep) -> None:
        set_kill_switch(True)

    with Script([approve("alice")], before=flip):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.task_definition() == "checkout:2"
    assert report.outcome is Outcome.HALTED and state.is_cancelled()
    assert timeline.events("halted") and timeline.events("applied") == []
    assert "kill" in timeline.events("halted")[0].message.lower()


def test_rate_limit_is_shared_across_runs_and_denies_the_second_action(world: World) -> None:
    policy = default_policy_data()
    policy["guardrails"]["rate_limits"].append(
        {
            "name": "flags-per-service",
            "actions": ["flags.*"],
            "per": "service",
            "max_count": 1,
            "window_minutes": 60,
        }
    )
    settings = world.settings(policy)
    inject_bad_flag(world.sandbox.target(), world.catalog)
    first = world.alert(tag=":1")
    incident_response(alert=first, settings=settings, return_state=True)
    assert world.flag() == "off"

    inject_bad_flag(world.sandbox.target(), world.catalog)
    second = world.alert(tag=":2")
    with Script([done("carol")]):
        incident_response(alert=second, settings=settings, return_state=True)
    report, _ = world.report(second, settings)
    assert world.flag() == "on"  # the second disable was refused
    assert report.mitigations[0].status == "denied"
    assert "limit reached" in report.mitigations[0].detail


def test_two_concurrent_runs_contend_for_one_rate_limit_and_only_one_acts(world: World) -> None:
    """Both regions get a bad deploy at once; a limit of one rollback per service lets one through."""
    policy = default_policy_data()
    next(rule for rule in policy["rules"] if rule["name"] == "rollbacks")["tier"] = "automated"
    limit = next(lim for lim in policy["guardrails"]["rate_limits"] if lim["name"] == "rollback-per-service")
    limit["max_count"] = 1
    settings = world.settings(policy)
    for region in n.REGIONS:
        inject_bad_deploy(world.sandbox.target(), world.catalog, region)
    alerts = [world.alert(region) for region in n.REGIONS]
    with Script([]), ThreadPoolExecutor(max_workers=2) as pool:  # any later step is refused
        runs = [pool.submit(incident_response, alert=a, settings=settings, return_state=True) for a in alerts]
        for run in runs:
            run.result(timeout=240)
    revisions = sorted(world.task_definition(region) for region in n.REGIONS)
    assert revisions == ["checkout:1", "checkout:2"]  # exactly one region was rolled back
    first = {a.region: world.report(a, settings)[0].mitigations[0] for a in alerts}
    assert sorted((m.kind, m.status) for m in first.values()) == [
        ("rollback.ecs", "applied"),
        ("rollback.ecs", "denied"),
    ]
    denied = next(m for m in first.values() if m.status == "denied")
    assert "limit reached" in (denied.detail or "")
