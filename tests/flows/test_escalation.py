"""Escalation timers under a compressed clock: while an approval waits, each level is paged once
at its time by a pass run outside the paused run; the answer acknowledges every level paged,
the mitigation resolves them, and the timeline lists every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from flows.escalation import EscalationPage, escalation_pass
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.pending import PendingStep, approval_input
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script
from tests.people import key_of
from drills.standins.pagerduty import PagerDutyStandIn

LEVELS = [
    {"name": "oncall", "after_minutes": 0, "routing_key_env": "TEST_PD_ONCALL"},
    {"name": "incident-commander", "after_minutes": 10, "routing_key_env": "TEST_PD_IC"},
    {"name": "leadership", "after_minutes": 30, "routing_key_env": "TEST_PD_LEADERSHIP"},
]


def _later(minutes: float) -> list[str]:
    made: list[EscalationPage] = escalation_pass(now=datetime.now(UTC) + timedelta(minutes=minutes))
    return [p.level.name for p in made]


def test_levels_are_paged_in_order_once_each_then_acknowledged_and_resolved(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pagerduty = PagerDutyStandIn()
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_API_URL", pagerduty.url)
    for level in LEVELS:
        monkeypatch.setenv(str(level["routing_key_env"]), f"key-of-{level['name']}")
    policy = default_policy_data()
    policy["paging"] = {"escalation": {"SEV-1": LEVELS, "SEV-2": LEVELS}}
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings(policy)
    passes: list[list[str]] = []

    def wait_then_approve(step: PendingStep) -> dict[str, Any]:
        passes.extend([_later(1), _later(11), _later(12), _later(31), _later(45)])
        return approval_input(step, approver="alice", approve=True, reason="late", key=key_of("alice"))

    with pagerduty, Script([wait_then_approve]):
        incident_response(alert=alert, settings=settings, return_state=True)
    assert passes == [[], ["incident-commander"], [], ["leadership"], []]
    incident = incident_id_for(alert)
    by_key = [(e["routing_key"], e["event_action"]) for e in pagerduty.events if e["dedup_key"] == incident]
    assert by_key == [
        ("key-of-oncall", "trigger"),
        ("key-of-incident-commander", "trigger"),
        ("key-of-leadership", "trigger"),
        ("key-of-oncall", "acknowledge"),
        ("key-of-incident-commander", "acknowledge"),
        ("key-of-leadership", "acknowledge"),
        ("key-of-oncall", "resolve"),
        ("key-of-incident-commander", "resolve"),
        ("key-of-leadership", "resolve"),
    ]
    _, timeline = world.report(alert, settings)
    sent = [(e.data["action"], e.data["level"]) for e in timeline.events("page-sent")]
    assert sent[:3] == [("trigger", "oncall"), ("trigger", "incident-commander"), ("trigger", "leadership")]
    assert len(sent) == 9
