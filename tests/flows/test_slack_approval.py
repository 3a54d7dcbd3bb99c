"""Slack approvals end to end: the gate posts the request to the Slack stand-in, clicks arrive
at a real receiver app signed as Slack signs them, and only a verified, allowed click applies
the plan (read back from moto). Bad and stale signatures, an unknown Slack user, a person the
rule does not allow, a replayed payload and a click after the step ended change nothing and
say why; the signing secret and the bot token appear nowhere but where they belong."""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

from alerts.dead_letters import DeadLetterStore
from alerts.receiver import create_app
from drills import seed_names as n
from drills.faults import inject_bad_deploy
from drills.standins.slack import Received, SlackStandIn, signed_request
from flows.identity import private_key_pem, public_key_text
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.pending import pending_steps
from flows.settings import RunSettings
from flows.slack_buttons import SlackAction
from tests.alerts.fakes import FakeStarter
from tests.alerts.fakes import settings as receiver_settings
from tests.flows.conftest import World, default_policy_data

SIGNING_SECRET = "slack-signing-secret-CANARY-5f1c2a9e"
BOT_TOKEN = "xoxb-CANARY-bot-token-77d0b3"
CHANNEL = "C0INCIDENTS"
ALICE, BOB, ERIN, NOBODY = "U0ALICE", "U0BOB", "U0ERIN", "U0NOBODY"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        monkeypatch.setenv("FIREBREAK_SLACK_API_URL", stand_in.api_url)
        monkeypatch.setenv("FIREBREAK_SLACK_BOT_TOKEN", BOT_TOKEN)
        yield stand_in


def _slack_setup(world: World, *, timeout_seconds: int | None = None) -> tuple[RunSettings, TestClient]:
    """The world's catalog names a Slack channel; the policy lists Slack ids and the receiver's
    attestor key; a receiver app with Slack interactions, against the test's Prefect API."""
    attestor = Ed25519PrivateKey.generate()
    key_path = world.tmp / "attestor.pem"
    key_path.write_bytes(private_key_pem(attestor))
    key_path.chmod(0o600)  # load_private_key refuses a key others can read
    policy = default_policy_data()
    policy["people"] = {"alice": {"slack_id": ALICE}, "bob": {"slack_id": BOB}, "erin": {"slack_id": ERIN}}
    policy["attestors"] = [public_key_text(attestor.public_key())]
    if timeout_seconds is not None:
        for rule in policy["approvals"]:
            rule["timeout_seconds"] = timeout_seconds
    settings = world.settings(policy)
    catalog = yaml.safe_load(world.catalog_path.read_text())
    catalog["services"][n.SERVICE][n.ENVIRONMENT]["slack_channel"] = CHANNEL
    world.catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    config = receiver_settings(
        world.tmp,
        slack_signing_secret=SIGNING_SECRET,
        attestor_key=key_path,
        prefect_api_url=PREFECT_API_URL.value(),
        policy_file=world.tmp / "policy.yaml",  # the one the flows' host reads
    )
    app = create_app(config, starter=FakeStarter(), dead_letters=DeadLetterStore(config.dead_letter_dir))
    return settings, TestClient(app)


@dataclass
class Clicker:
    """Slack's side, in a thread: waits for the posted request, then clicks as scripted."""

    slack: SlackStandIn
    receiver: TestClient
    timeline: Path
    statuses: list[int] = field(default_factory=list)
    error: str = ""

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        response = self.receiver.post("/slack/interactions", content=body, headers=headers)
        self.statuses.append(response.status_code)

    def _click(
        self, message: Received, user: str, *, secret: str = SIGNING_SECRET, age: int = 0
    ) -> tuple[bytes, dict[str, str]]:
        payload = self.slack.click_payload(message, user_id=user, action_id=SlackAction.APPROVE.value)
        body, headers = signed_request(payload, secret, timestamp=int(time.time()) - age)
        self._post(body, headers)
        return body, headers

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while not (self.slack.calls("chat.postMessage") and pending_steps()):
            if time.monotonic() > deadline:
                self.error = "no Slack request posted, or the run did not pause"
                return
            time.sleep(0.3)
        message = self.slack.calls("chat.postMessage")[0]
        self._click(message, ALICE, secret="not-the-signing-secret")
        self._click(message, ALICE, age=400)  # older than Slack's 5-minute window
        self._click(message, NOBODY)
        self._click(message, ERIN)  # comms-leads: not allowed by prod-rollbacks
        body, headers = self._click(message, ALICE)
        self._post(body, headers)  # the same signed request again: a replay
        while "approval-answer" not in (self.timeline.read_text() if self.timeline.exists() else ""):
            if time.monotonic() > deadline:
                self.error = "the gate never took alice's answer"
                return
            time.sleep(0.2)  # the gate took alice's answer (and copied the clicks so far)
        self._click(message, BOB)  # the step has ended


def test_a_verified_slack_click_applies_and_every_other_click_changes_nothing(
    world: World, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings, receiver = _slack_setup(world)
    clicker = Clicker(slack, receiver, settings.incident_dir(incident_id_for(alert)) / "timeline.json")
    thread = threading.Thread(target=contextvars.copy_context().run, args=(clicker.run,), daemon=True)
    thread.start()
    state = incident_response(alert=alert, settings=settings, return_state=True)
    thread.join(timeout=60)
    assert clicker.error == ""
    assert clicker.statuses == [401, 401, 200, 200, 200, 200, 200]
    assert world.task_definition() == "checkout:1"

    replies = [r.text for r in slack.calls("response_url")]
    assert len(replies) == 4, replies
    assert "refused: Slack user U0NOBODY is not any person's slack_id" in replies[0]
    assert "refused: erin is not an allowed approver under rule 'prod-rollbacks'" in replies[1]
    assert "replayed: this click was received before; nothing changed" in replies[2]
    assert "ended: this step is no longer waiting; nothing changed" in replies[3]
    (update,) = slack.calls("chat.update")
    message = slack.calls("chat.postMessage")[0]
    assert (update.channel, update.ts) == (CHANNEL, message.ts)
    assert "alice approved" in update.text
    assert "*APPROVED* by alice (<@U0ALICE>)" in json.dumps(update.blocks)

    _, timeline = world.report(alert, settings)
    (posted,) = timeline.events("slack-posted")
    assert (posted.data["channel"], posted.data["ts"]) == (CHANNEL, message.ts)
    assert [e.data["outcome"] for e in timeline.events("slack-click")] == ["refused", "refused", "answered"]
    (answer,) = timeline.events("approval-answer")
    assert (answer.actor, answer.data["channel"], answer.data["proof"]) == ("alice", "slack", "verified")
    assert answer.message.endswith("-> approved")
    assert "Slack callback refused: bad signature" in caplog.text
    assert "Slack callback refused: stale timestamp" in caplog.text

    # The canary: the signing secret and the bot token are nowhere they should not be.
    folder = settings.incident_dir(incident_id_for(alert))
    files = [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(run_id)
        logs = " ".join(log.message for log in prefect.read_logs(limit=200))
        artifacts = json.dumps([a.data for a in prefect.read_artifacts(limit=200)], default=str)
        inputs = " ".join(
            i.value
            for i in prefect.filter_flow_run_input(run_id, key_prefix="", limit=200, exclude_keys=set())
        )
    dead = [p.read_bytes() for p in Path(world.tmp / "dead").rglob("*") if p.is_file()]
    for secret in (SIGNING_SECRET, BOT_TOKEN):
        assert all(secret.encode() not in blob for blob in [*files, *dead])
        assert secret not in json.dumps(run.parameters, default=str)
        assert secret not in logs and secret not in artifacts and secret not in inputs
        assert secret not in caplog.text
        assert all(secret not in r.model_dump_json() for r in slack.received)


def test_a_click_after_the_deadline_changes_nothing_and_says_so(world: World, slack: SlackStandIn) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings, receiver = _slack_setup(world, timeout_seconds=3)
    incident_response(alert=alert, settings=settings, return_state=True)  # nobody answers in time
    (message,) = slack.calls("chat.postMessage")
    payload = slack.click_payload(message, user_id=ALICE, action_id=SlackAction.APPROVE.value)
    body, headers = signed_request(payload, SIGNING_SECRET)
    assert receiver.post("/slack/interactions", content=body, headers=headers).status_code == 200
    assert [r.text for r in slack.calls("response_url")] == [
        "Firebreak: ended: this step is no longer waiting; nothing changed"
    ]
    assert slack.calls("chat.update") == []
    assert world.task_definition() == "checkout:2"
    _, timeline = world.report(alert, settings)
    assert timeline.events("approval-answer") == []
    assert timeline.events("approval-timeout")
