"""A local Slack stand-in: the Web API methods Firebreak calls, and Slack's side of a button click.

It answers ``chat.postMessage`` and ``chat.update`` as Slack documents (``{"ok": true,
"channel", "ts", "message"}``; ``not_authed`` without a bearer token, ``message_not_found``
for an unknown ts), takes ephemeral replies at the ``response_url`` it hands out in clicks,
and records everything it received (never the token). :func:`send_click` signs and sends an
interaction callback the way Slack does: ``payload=`` form-encoded, ``X-Slack-Signature`` =
``v0=`` HMAC-SHA256 of ``v0:timestamp:body`` with the signing secret, computed by slack_sdk's
own ``SignatureVerifier``. Usable by tests and drills.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, Field
from slack_sdk.signature import SignatureVerifier

from drills.standins.server import JsonStandIn, Request


class Received(BaseModel):
    """One call the stand-in took: ``chat.postMessage``, ``chat.update`` or ``response_url``."""

    method: str
    channel: str = ""
    ts: str = ""
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class SlackStandIn(JsonStandIn):
    """``with SlackStandIn() as slack:`` serves the Web API on ``slack.api_url``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.messages: dict[str, Received] = {}  # ts -> the message as it reads now
        self._ts = itertools.count(1)
        super().__init__()

    @property
    def api_url(self) -> str:
        """What FIREBREAK_SLACK_API_URL should be."""
        return f"{self.url}/api/"

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.received if r.method == method]

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        """Slack answers 200 and says in the body whether the call worked."""
        authed = request.headers.get("Authorization", "").startswith("Bearer ")
        return 200, self._answer(request.path, request.body, authed)

    def _answer(self, path: str, body: dict[str, Any], authed: bool) -> dict[str, Any]:
        method = path.removeprefix("/api/")
        with self._lock:
            if path.startswith("/response/"):
                self.received.append(Received(method="response_url", text=str(body.get("text", ""))))
                return {"ok": True}
            if not authed:
                return {"ok": False, "error": "not_authed"}
            channel, text, blocks = (
                str(body.get("channel", "")),
                str(body.get("text", "")),
                body.get("blocks"),
            )
            if method == "chat.postMessage":
                ts = f"{int(time.time())}.{next(self._ts):06d}"
            elif method == "chat.update" and body.get("ts") in self.messages:
                ts = str(body["ts"])
            elif method == "chat.update":
                return {"ok": False, "error": "message_not_found"}
            else:
                return {"ok": False, "error": "unknown_method"}
            message = Received(method=method, channel=channel, ts=ts, text=text, blocks=list(blocks or []))
            self.received.append(message)
            self.messages[ts] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}

    def click_payload(self, message: Received, *, user_id: str, action_id: str) -> dict[str, Any]:
        """The ``block_actions`` payload Slack sends when ``user_id`` presses the button
        ``action_id`` of ``message`` (its value exactly as posted)."""
        button = next(
            e
            for block in message.blocks
            if block.get("type") == "actions"
            for e in block.get("elements", [])
            if e.get("action_id") == action_id
        )
        return {
            "type": "block_actions",
            "user": {"id": user_id, "team_id": "T0FIREBRK"},
            "team": {"id": "T0FIREBRK"},
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
            "channel": {"id": message.channel},
            "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
            "response_url": f"{self.url}/response/{message.ts}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }


def signed_request(
    payload: dict[str, Any], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Slack's interaction callback for ``payload``, signed."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }
    return body, headers


def send_click(
    url: str, payload: dict[str, Any], signing_secret: str, *, timestamp: int | None = None
) -> httpx.Response:
    """POST ``payload`` to the receiver's ``/slack/interactions`` at ``url``, signed as Slack signs."""
    body, headers = signed_request(payload, signing_secret, timestamp=timestamp)
    return httpx.post(url.rstrip("/") + "/slack/interactions", content=body, headers=headers, timeout=10)
