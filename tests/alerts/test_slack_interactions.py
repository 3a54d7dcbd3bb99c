"""The receiver's Slack route before any click is judged: the signature over the raw body and
Slack's 5-minute window (401, one refusal line logged, nothing else), and its configuration
read at startup. Clicks against real paused runs: tests/flows/test_slack_approval.py."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from alerts.dead_letters import DeadLetterStore
from alerts.receiver import create_app
from alerts.slack_interactions import SlackConfigError
from drills.standins.slack import signed_request
from flows.identity import private_key_pem
from tests.alerts.fakes import FakeStarter, settings

SECRET = "test-signing-secret"
PAYLOAD = {"type": "block_actions", "actions": []}


def _client(tmp_path: Path, **overrides: object) -> TestClient:
    key = tmp_path / "attestor.pem"
    key.write_bytes(private_key_pem(Ed25519PrivateKey.generate()))
    key.chmod(0o600)  # load_private_key refuses a key others can read
    values: dict[str, object] = {"slack_signing_secret": SECRET, "attestor_key": key, **overrides}
    config = settings(tmp_path, **values)
    app = create_app(config, starter=FakeStarter(), dead_letters=DeadLetterStore(config.dead_letter_dir))
    return TestClient(app)


@pytest.mark.parametrize(
    ("secret", "age", "line"),
    [("another-secret", 0, "bad signature"), (SECRET, 301, "stale timestamp")],
    ids=["bad-signature", "stale"],
)
def test_unverified_callbacks_are_401_with_one_refusal_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, secret: str, age: int, line: str
) -> None:
    body, headers = signed_request(PAYLOAD, secret, timestamp=int(time.time()) - age)
    with caplog.at_level(logging.INFO, logger="alerts"):
        response = _client(tmp_path).post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 401
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alerts")] == [
        f"Slack callback refused: {line}" + (" (more than 5 minutes off)" if age else "")
    ]
    assert list((tmp_path / "dead").glob("*")) == []


def test_a_verified_body_that_is_no_click_is_answered_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = signed_request(PAYLOAD, SECRET)
    with caplog.at_level(logging.INFO, logger="alerts"):
        response = _client(tmp_path).post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 200
    assert "Slack callback ignored: not a Firebreak button click" in caplog.text


def test_without_a_signing_secret_there_is_no_slack_route(tmp_path: Path) -> None:
    body, headers = signed_request(PAYLOAD, SECRET)
    response = _client(tmp_path, slack_signing_secret=None).post(
        "/slack/interactions", content=body, headers=headers
    )
    assert response.status_code == 404


def test_a_signing_secret_without_an_attestor_key_stops_the_receiver_at_startup(tmp_path: Path) -> None:
    with pytest.raises(SlackConfigError, match="FIREBREAK_ATTESTOR_KEY"):
        _client(tmp_path, attestor_key=None)
    with pytest.raises(SlackConfigError, match="cannot read"):
        _client(tmp_path, attestor_key=tmp_path / "missing.pem")
