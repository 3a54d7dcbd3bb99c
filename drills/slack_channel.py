"""The drill's Slack (``responder.channel: slack``): the Slack stand-in, and the receiver app
``firebreak serve`` runs (``alerts.receiver.create_app``, configured by the ``FIREBREAK_*``
variables an operator would set) with Slack interactions on, served in-process as the drill's
intake does. The drill's people click Approve / Reject as Slack users: the click is signed
with the drill's signing secret and posted to ``/slack/interactions``, and the receiver
verifies it, attests it with the drill's attestor key and resumes the run.
"""

from __future__ import annotations

import re
import secrets
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from alerts.dead_letters import DeadLetterStore
from alerts.receiver import create_app
from alerts.settings import load_settings
from drills.drill_policy import with_slack_people
from drills.environ import scoped_environment
from drills.intake import receiver_environment
from drills.scenario import Channel, Responder
from drills.standins.slack import Received, SlackStandIn, signed_request
from firebreak.commands.alerts import serve_starter
from flows.identity import private_key_pem, public_key_text
from flows.pending import PendingStep
from flows.slack_buttons import ButtonValue, SlackAction

CHANNEL = "C0FIREDRILL"
BOT_TOKEN = "xoxb-drill"  # not a secret: the stand-in accepts any bearer token


class SlackDrillError(RuntimeError):
    """The drill's Slack side could not answer a step (no message posted for it)."""


def slack_id(name: str) -> str:
    """A person's Slack user id in the drill, as policies.approvals.SLACK_ID accepts.

    >>> slack_id("alice")
    'U0ALICE'
    """
    return "U0" + re.sub(r"[^A-Z0-9]", "", name.upper())[:18]


class SlackChannel:
    """``with SlackChannel(output, people).serving(policy_path):`` while the incident runs."""

    def __init__(self, output: Path, people: list[str]) -> None:
        self.stand_in = SlackStandIn()
        self.slack_ids = {name: slack_id(name) for name in people}
        self._secret = secrets.token_hex(16)
        self._attestor = Ed25519PrivateKey.generate()
        self._key_path = output / "keys" / "attestor.pem"
        self._dead_letters = output / "dead-letters"
        self._policy_path: str | None = None
        self._client: TestClient | None = None
        self._stack = ExitStack()

    def environment(self) -> dict[str, str]:
        """The Slack variables of the flow (posting) and of the receiver (callbacks)."""
        return {
            "FIREBREAK_SLACK_API_URL": self.stand_in.api_url,
            "FIREBREAK_SLACK_BOT_TOKEN": BOT_TOKEN,
            "FIREBREAK_SLACK_SIGNING_SECRET": self._secret,
            "FIREBREAK_ATTESTOR_KEY": str(self._key_path),
        }

    def with_people(self, policy: dict[str, Any]) -> dict[str, Any]:
        """``policy`` with the people's Slack ids and the drill receiver as attestor."""
        return with_slack_people(policy, self.slack_ids, public_key_text(self._attestor.public_key()))

    def name_channel(self, catalog_path: Path) -> None:
        """Name the drill's channel for every service environment of the catalog file."""
        data = yaml.safe_load(catalog_path.read_text())
        for environments in data["services"].values():
            for entry in environments.values():
                entry["slack_channel"] = CHANNEL
        catalog_path.write_text(yaml.safe_dump(data, sort_keys=False))

    def serving(self, policy_path: Path) -> SlackChannel:
        self._policy_path = str(policy_path)
        return self

    def __enter__(self) -> SlackChannel:
        """Start the stand-in and the receiver; the Slack variables stay set until exit, for
        the incident flow that posts the requests."""
        self._stack.enter_context(self.stand_in)
        self._key_path.parent.mkdir(parents=True, exist_ok=True)
        self._key_path.touch(mode=0o600)
        self._key_path.write_bytes(private_key_pem(self._attestor))
        self._stack.enter_context(scoped_environment(self.environment()))
        receiver = receiver_environment(dead_letter_dir=self._dead_letters, policy_path=self._policy_path)
        with scoped_environment(receiver):
            settings = load_settings()
            app = create_app(
                settings, starter=serve_starter(settings), dead_letters=DeadLetterStore(self._dead_letters)
            )
        self._client = self._stack.enter_context(TestClient(app))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.__exit__(kind, error, tb)

    def click(self, step: PendingStep, person: str, *, approve: bool, wait_seconds: float = 10.0) -> str:
        """Press Approve or Reject on the message posted for ``step``, as ``person``; what the
        receiver told them privately, or "" when their answer went to the run."""
        if self._client is None:
            raise SlackDrillError("the drill's Slack side is not running")
        message = self._message_for(step, wait_seconds)
        action = SlackAction.APPROVE if approve else SlackAction.REJECT
        payload = self.stand_in.click_payload(message, user_id=self.slack_ids[person], action_id=action.value)
        replies = len(self.stand_in.calls("response_url"))
        body, headers = signed_request(payload, self._secret)
        response = self._client.post("/slack/interactions", content=body, headers=headers)
        if response.status_code != 200:
            raise SlackDrillError(f"the receiver answered the click with HTTP {response.status_code}")
        told = self.stand_in.calls("response_url")[replies:]
        return told[0].text if told else ""

    def _message_for(self, step: PendingStep, wait_seconds: float) -> Received:
        deadline = time.monotonic() + wait_seconds
        while True:
            for message in self.stand_in.calls("chat.postMessage"):
                value = _button_value(message)
                if value and (value.flow_run_id, value.plan_hash) == (str(step.flow_run_id), step.plan_hash):
                    return message
            if time.monotonic() > deadline:
                raise SlackDrillError(f"no Slack message was posted for flow run {step.flow_run_id}")
            time.sleep(0.2)

    def summary(self) -> list[str]:
        """What the stand-in received, one line each (for the scorecard)."""
        return [f"{r.method} {r.channel}: {r.text}".strip() for r in self.stand_in.received]


def _button_value(message: Received) -> ButtonValue | None:
    for block in message.blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            return ButtonValue.model_validate_json(element["value"])
    return None


def slack_for(
    responder: Responder, output: Path, policy: dict[str, Any], catalog_path: Path
) -> tuple[SlackChannel | None, dict[str, Any]]:
    """The drill's Slack when its people answer there (the catalog file then names the
    channel, and the policy their Slack ids and the attestor); else None and ``policy``."""
    if responder.channel is not Channel.SLACK:
        return None, policy
    slack = SlackChannel(output, responder.people)
    slack.name_channel(catalog_path)
    return slack, slack.with_people(policy)
