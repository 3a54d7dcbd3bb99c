"""Posting and updating Slack messages through slack_sdk's WebClient, against the stand-in:
what it reads back, and a specific SlackError (never the token) when Slack refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from drills.standins.slack import SlackStandIn
from tasks.slack import SlackError, SlackMessage, SlackSettings, post_message, reply_privately, update_message

TOKEN = "xoxb-test-token-CANARY"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


def _settings(slack: SlackStandIn, token: str | None = TOKEN) -> SlackSettings:
    return SlackSettings(api_url=slack.api_url, bot_token=SecretStr(token) if token else None)


def test_post_then_update_reads_back_the_new_text(slack: SlackStandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "approve?"}}]
    message = post_message("C0INCIDENTS", "approve?", blocks, _settings(slack))
    assert slack.messages[message.ts].text == "approve?"
    update_message(message, "approved by alice", [], _settings(slack))
    assert slack.messages[message.ts].text == "approved by alice"
    assert [r.method for r in slack.received] == ["chat.postMessage", "chat.update"]
    assert all(TOKEN not in r.model_dump_json() for r in slack.received)


def test_an_unknown_message_is_a_slack_error_naming_slacks_code(slack: SlackStandIn) -> None:
    with pytest.raises(SlackError, match=r"chat\.update: Slack refused it: message_not_found"):
        update_message(SlackMessage(channel="C0INCIDENTS", ts="1.000001"), "x", [], _settings(slack))


def test_no_token_is_refused_before_anything_is_sent(slack: SlackStandIn) -> None:
    with pytest.raises(SlackError, match="FIREBREAK_SLACK_BOT_TOKEN is not set"):
        post_message("C0INCIDENTS", "x", [], _settings(slack, token=None))
    assert slack.received == []


def test_an_unreachable_slack_is_a_slack_error(slack: SlackStandIn) -> None:
    settings = SlackSettings(api_url="http://127.0.0.1:9/api/", bot_token=SecretStr(TOKEN))
    with pytest.raises(SlackError, match="no answer from Slack") as caught:
        post_message("C0INCIDENTS", "x", [], settings)
    assert TOKEN not in str(caught.value)


def test_a_private_reply_goes_to_the_response_url(slack: SlackStandIn) -> None:
    reply_privately(f"{slack.url}/response/1.000001", "refused: not yours")
    assert [(r.method, r.text) for r in slack.received] == [("response_url", "refused: not yours")]
