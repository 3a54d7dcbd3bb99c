"""Escalation timers under a compressed clock: while an approval waits, each level is paged once
at its time by a pass run outside the paused run; the answer acknowledges every level paged,
the mitigation resolves them, and the timeline lists every page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from drills.standins.pagerduty import PagerDutyStandIn
from flows.escalation import EscalationPage, escalation_pass
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.pending import PendingStep, approval_input
from tasks.aws import call, client
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script
from tests.people import key_of

LEVELS = [
    {"name": "oncall", "after_minutes": 0, "routing_key_env": "TEST_PD_ONCALL"},
    {"name": "incident-commander", "after_minutes": 10, "routing_key_env": "TEST_PD_IC"},
    {"name": "leadership", "after_minutes": 30, "routing_key_env": "TEST_PD_LEADERSHIP"},
]


def _later(minutes: float) -> list[str]:
    made: list[EscalationPage] = escalation_pass(now=datetime.now(UTC) + timedelta(minutes=minutes))
    return [p.level.name for p in made]


def _subscribe_queue(world: World) -> str:
    """An SQS queue subscribed to the service's status topic, to read the updates back."""
    target = world.sandbox.target(n.PRIMARY_REGION)
    topic = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).sns_topic_arn
    assert topic is not None
    sqs = client("sqs", target)
    url = str(call(sqs, "create_queue", QueueName="status-readback")["QueueUrl"])
    attributes = call(sqs, "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])
    arn = attributes["Attributes"]["QueueArn"]
    call(client("sns", target), "subscribe", TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def _subjects(world: World, queue: str) -> list[str]:
    sqs = client("sqs", world.sandbox.target(n.PRIMARY_REGION))
    subjects: list[str] = []
    while messages := call(sqs, "receive_message", QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for m in messages:
            subjects.append(json.loads(m["Body"]).get("Subject", ""))
            call(sqs, "delete_message", QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return subjects


def test_levels_are_paged_in_order_once_each_then_acknowledged_and_resolved(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pagerduty = PagerDutyStandIn()
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_API_URL", pagerduty.url)
    for level in LEVELS:
        monkeypatch.setenv(str(level["routing_key_env"]), f"key-of-{level['name']}")
    policy = default_policy_data()
    policy["paging"] = {"escalation": {"SEV-1": LEVELS, "SEV-2": LEVELS}}
    policy["severity"]["requirements"]["SEV-2"]["update_cadence_minutes"] = 10
    queue = _subscribe_queue(world)
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
    # Status updates every 10 minutes while waiting: 1 by minute 11, 3 by 31, 4 by 45, each once.
    waiting = [s for s in _subjects(world, queue) if "waiting for a human" in s]
    assert [s.split("still waiting after ")[1].split(" min")[0] for s in waiting] == ["10", "20", "30", "40"]
    assert len([e for e in timeline.events("status-sent") if "waiting for a human" in e.message]) == 4
