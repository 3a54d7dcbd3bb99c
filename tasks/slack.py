"""Slack messages through the Web API (``chat.postMessage``, ``chat.update``) and a
``response_url``, with slack_sdk's ``WebClient`` and ``WebhookClient``.

The bot token is read from ``FIREBREAK_SLACK_BOT_TOKEN`` when a message is sent (never a
parameter, never logged); the API base URL is ``FIREBREAK_SLACK_API_URL`` so tests and drills
talk to a local stand-in (drills/standins/slack.py). Slack answers HTTP 200 with
``{"ok": false, "error": ...}`` for a refused call; slack_sdk raises ``SlackApiError`` for
it, and every failure here becomes a :class:`SlackError` naming the method and Slack's error
code. See https://docs.slack.dev/reference/methods/chat.postMessage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

logger = logging.getLogger(__name__)


class SlackError(RuntimeError):
    """Slack did not take the message (refused, unreachable, or no token configured)."""


class SlackSettings(BaseSettings):
    """Where Slack's Web API is and the bot token (``chat:write`` scope)."""

    model_config = SettingsConfigDict(env_prefix="FIREBREAK_SLACK_", extra="ignore", frozen=True)

    api_url: str = Field(default="https://slack.com/api/", description="Web API base URL.")
    bot_token: SecretStr | None = Field(default=None, description="xoxb- bot token.")
    timeout_seconds: int = Field(default=5, ge=1)


class SlackMessage(BaseModel):
    """Where a message was posted: the channel id and its ``ts`` (Slack's message id)."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


def _client(settings: SlackSettings) -> WebClient:
    if settings.bot_token is None:
        raise SlackError("no Slack bot token: FIREBREAK_SLACK_BOT_TOKEN is not set")
    base_url = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return WebClient(
        token=settings.bot_token.get_secret_value(), base_url=base_url, timeout=settings.timeout_seconds
    )


def _call(method: str, send: Callable[[], SlackResponse]) -> dict[str, Any]:
    try:
        response = send()
    except SlackApiError as e:
        raise SlackError(f"{method}: Slack refused it: {e.response.get('error', 'unknown error')}") from e
    except (SlackClientError, OSError) as e:
        raise SlackError(f"{method}: no answer from Slack: {type(e).__name__}") from e
    return dict(response.data) if isinstance(response.data, dict) else {}


def post_message(
    channel: str, text: str, blocks: list[dict[str, Any]], settings: SlackSettings | None = None
) -> SlackMessage:
    """Post ``blocks`` (``text`` is the notification fallback) to ``channel``; where it landed."""
    settings = settings or SlackSettings()
    client = _client(settings)
    logger.info("Slack chat.postMessage to %s", channel)
    data = _call(
        "chat.postMessage", lambda: client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    )
    return SlackMessage(channel=str(data.get("channel", channel)), ts=str(data["ts"]))


def update_message(
    message: SlackMessage, text: str, blocks: list[dict[str, Any]], settings: SlackSettings | None = None
) -> None:
    """Replace ``message``'s content (e.g. the decided version of an approval request)."""
    settings = settings or SlackSettings()
    client = _client(settings)
    logger.info("Slack chat.update of %s in %s", message.ts, message.channel)
    _call(
        "chat.update",
        lambda: client.chat_update(channel=message.channel, ts=message.ts, text=text, blocks=blocks),
    )


def reply_privately(response_url: str, text: str) -> None:
    """Tell only the person who clicked (``response_url``, ephemeral; the message stays as it is).

    The URL comes from Slack's signed callback and needs no token."""
    logger.info("Slack ephemeral reply through the callback's response_url")
    try:
        response = WebhookClient(response_url, timeout=5).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except (SlackClientError, OSError) as e:
        raise SlackError(f"response_url: no answer from Slack: {type(e).__name__}") from e
    if response.status_code != 200:
        raise SlackError(f"response_url: Slack answered {response.status_code}")
