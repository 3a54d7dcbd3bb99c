"""The receiver's judgement of one Slack click (pure): only the step waiting now, only a listed
Slack user, only a person the approval rule allows; and the callback body as Slack sends it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from alerts.slack_clicks import Click, ClickOutcome, PausedStep, SlackPayloadError, judge, parse_click
from flows.slack_buttons import ButtonValue, SlackAction
from policies import Policy, default_policy

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _policy() -> Policy:
    policy = default_policy()
    data = policy.model_dump(mode="json")
    data["people"] = {"alice": {"slack_id": "U0ALICE"}, "erin": {"slack_id": "U0ERIN"}}
    return Policy.model_validate(data)


def _click(user: str = "U0ALICE", action: SlackAction = SlackAction.APPROVE, plan_hash: str = "h1") -> Click:
    return Click(
        slack_user=user,
        action=action,
        value=ButtonValue(flow_run_id="run-1", plan_hash=plan_hash, rule="prod-rollbacks"),
        channel="C0INCIDENTS",
        ts="1700000000.000001",
        action_ts="1700000001.000002",
        response_url="http://slack.invalid/response/1",
        headline="INC-1: approve rollback.ecs on checkout (prod)?",
    )


WAITING = PausedStep(paused=True, plan_hash="h1", deadline=NOW + timedelta(minutes=10))


def test_an_allowed_listed_person_answers() -> None:
    verdict = judge(_click(), WAITING, policy=_policy(), now=NOW)
    assert (verdict.outcome, verdict.approver) == (ClickOutcome.ANSWERED, "alice")


@pytest.mark.parametrize(
    ("click", "step", "outcome", "reason"),
    [
        (
            _click(user="U0NOBODY"),
            WAITING,
            ClickOutcome.REFUSED,
            "Slack user U0NOBODY is not any person's slack_id",
        ),
        (
            _click(user="U0ERIN"),
            WAITING,
            ClickOutcome.REFUSED,
            "erin is not an allowed approver under rule 'prod-rollbacks'",
        ),
        (_click(), PausedStep(paused=False), ClickOutcome.ENDED, "no longer waiting"),
        (_click(plan_hash="h0"), WAITING, ClickOutcome.ENDED, "the plan changed"),
        (
            _click(),
            PausedStep(paused=True, plan_hash="h1", deadline=NOW),
            ClickOutcome.ENDED,
            "the deadline passed",
        ),
    ],
    ids=["unknown-slack-user", "not-allowed-by-rule", "step-ended", "plan-changed", "after-deadline"],
)
def test_refused_clicks_say_why(click: Click, step: PausedStep, outcome: ClickOutcome, reason: str) -> None:
    verdict = judge(click, step, policy=_policy(), now=NOW)
    assert verdict.outcome is outcome
    assert reason in verdict.reason


def test_the_same_click_has_the_same_key_and_another_click_another() -> None:
    assert _click().key == _click().key
    assert _click().key != _click(action=SlackAction.REJECT).key


def test_parse_reads_slacks_form_encoded_payload() -> None:
    value = ButtonValue(flow_run_id="run-1", plan_hash="h1", rule="prod-rollbacks").model_dump_json()
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ALICE"},
        "channel": {"id": "C0INCIDENTS"},
        "message": {"ts": "1.2", "text": "INC-1"},
        "response_url": "http://slack.invalid/r",
        "actions": [{"action_id": "firebreak-reject", "value": value, "action_ts": "3.4"}],
    }
    click = parse_click(urlencode({"payload": json.dumps(payload)}).encode())
    assert (click.slack_user, click.approve, click.value.plan_hash, click.ts) == (
        "U0ALICE",
        False,
        "h1",
        "1.2",
    )


@pytest.mark.parametrize("body", [b"", b"payload=not-json", b"payload=%7B%7D", b"\xff"])
def test_parse_refuses_what_is_not_a_click(body: bytes) -> None:
    with pytest.raises(SlackPayloadError):
        parse_click(body)
