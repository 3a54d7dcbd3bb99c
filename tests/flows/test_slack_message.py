"""The Slack approval message (pure Block Kit): what an approver reads, and what the buttons
carry back (flow run, plan hash, rule; nothing secret); the decided version has no buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flows.slack_buttons import ButtonValue, SlackAction
from flows.slack_message import ApprovalRequest, Decided, approval_blocks, decided_blocks
from tasks.aws import AwsTarget
from tasks.plan import Plan

ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:{}"


def _plan() -> Plan:
    return Plan(
        kind="rollback.ecs",
        service="checkout",
        environment="prod",
        aws=AwsTarget(region="eu-west-1"),
        targets=["arn:aws:ecs:eu-west-1:123456789012:service/checkout/checkout"],
        before={"taskDefinition": ARN.format(2), "desiredCount": 2},
        after={"taskDefinition": ARN.format(1), "desiredCount": 2},
        blast_radius=0.5,
        summary="checkout:2→checkout:1",
    )


def _request(evidence: list[str] | None = None) -> ApprovalRequest:
    return ApprovalRequest(
        incident_id="INC-1",
        flow_run_id="run-1",
        plan=_plan(),
        rule="prod-rollbacks",
        reason="rollbacks need an on-call lead",
        needed=1,
        deadline=datetime(2026, 12, 1, 3, 15, tzinfo=UTC),
        evidence=evidence if evidence is not None else ["PRIMARY deployment of checkout:2 (was checkout:1)"],
    )


def _text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_request_shows_before_after_blast_radius_rule_evidence_and_deadline() -> None:
    text = _text(approval_blocks(_request()))
    assert "*taskDefinition*: `checkout:2` → `checkout:1`" in text
    assert "desiredCount: `2` → `2`" in text
    assert "50% of the service" in text
    assert "`prod-rollbacks`: rollbacks need an on-call lead" in text
    assert "PRIMARY deployment of checkout:2 (was checkout:1)" in text
    assert "2026-12-01 03:15:00 UTC" in text


def test_the_buttons_carry_run_plan_hash_and_rule_only() -> None:
    blocks = approval_blocks(_request())
    actions = next(b for b in blocks if b["type"] == "actions")
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert set(buttons) == {SlackAction.APPROVE.value, SlackAction.REJECT.value}
    value = ButtonValue.model_validate_json(buttons[SlackAction.APPROVE.value]["value"])
    assert value == ButtonValue(flow_run_id="run-1", plan_hash=_plan().hash, rule="prod-rollbacks")
    assert json.loads(buttons[SlackAction.REJECT.value]["value"]) == value.model_dump()


def test_long_evidence_is_cut_and_says_where_the_rest_is() -> None:
    text = _text(approval_blocks(_request([f"line {i}" for i in range(25)])))
    assert "line 9" in text and "line 10" not in text
    assert "15 more in the Prefect form" in text


def test_the_decided_message_says_who_and_has_no_buttons() -> None:
    decided = Decided(
        headline="INC-1: approve rollback.ecs on checkout (prod)?",
        approver="alice",
        slack_user="U0ALICE",
        approve=False,
        at=datetime(2026, 12, 1, 3, 1, tzinfo=UTC),
    )
    blocks = decided_blocks(decided)
    assert all(b["type"] != "actions" for b in blocks)
    assert "*REJECTED* by alice (<@U0ALICE>) at 2026-12-01 03:01:00 UTC" in _text(blocks)
