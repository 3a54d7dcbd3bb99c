"""Issue 25, point 5: a body nested deeper than intake's limit is a 400 for every source."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from alerts.dead_letters import Reason
from alerts.payload import MAX_NESTING, nesting_depth
from tests.alerts.fakes import PD_SECRET, Receiver, basic, bearer, receiver
from tests.alerts.signing import Signer, fixture_json


def _nested(levels: int) -> str:
    return '{"a":' * levels + '"bottom"' + "}" * levels


def _headers(source: str, body: bytes) -> dict[str, str]:
    if source == "pagerduty":
        return {
            "X-PagerDuty-Signature": "v1=" + hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
        }
    return basic() if source == "eventbridge" else bearer()


def _pagerduty_body(levels: int) -> bytes:
    event = fixture_json("pagerduty_triggered.json")
    event["event"]["data"]["deep"] = "@"
    return json.dumps(event).replace('"@"', _nested(levels)).encode()


@pytest.fixture
def rx(tmp_path: Path, signer: Signer) -> Receiver:
    return receiver(tmp_path, signer.pem)


@pytest.mark.parametrize("levels", [300, 900])
def test_a_signed_pagerduty_body_nested_deep_is_400_not_500(rx: Receiver, levels: int) -> None:
    body = _pagerduty_body(levels)
    response = rx.client.post("/alerts/pagerduty", content=body, headers=_headers("pagerduty", body))
    assert response.status_code == 400, response.text
    assert f"nested deeper than {MAX_NESTING}" in response.json()["detail"]
    assert [dead.reason for _, dead in rx.store.entries()] == [Reason.MALFORMED]
    assert rx.starter.start_calls == []


@pytest.mark.parametrize("source", ["cloudwatch", "eventbridge", "alertmanager", "pagerduty", "generic"])
def test_every_source_refuses_a_body_nested_past_the_limit(rx: Receiver, source: str) -> None:
    body = ('{"version": "4", "alerts": [], "x": ' + _nested(MAX_NESTING) + "}").encode()
    response = rx.client.post(f"/alerts/{source}", content=body, headers=_headers(source, body))
    assert response.status_code == 400, response.text
    assert f"nested deeper than {MAX_NESTING}" in response.json()["detail"]
    _, dead = rx.store.entries()[0]
    assert dead.reason is Reason.MALFORMED


def test_the_sns_message_inside_the_envelope_is_limited_too(rx: Receiver, signer: Signer) -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    envelope["Message"] = _nested(MAX_NESTING + 1)
    response = rx.client.post("/alerts/cloudwatch", content=json.dumps(signer.sign(envelope)))
    assert response.status_code == 400, response.text
    assert "Message" in response.json()["detail"]


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": 2}]}', 3),
        ('["[[[[", "}}}"]', 1),
        ('["\\"[[", {}]', 2),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth
