from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alerts.auth import SENDER_DETAIL
from alerts.dead_letters import DeadLetterStore, Reason
from alerts.errors import FetchError
from alerts.receiver import create_app
from tests.alerts.fakes import (
    FIXTURE_NOW,
    PD_SECRET,
    TOKEN,
    FakeStarter,
    Receiver,
    basic,
    bearer,
    receiver,
    settings,
)
from tests.alerts.signing import Signer, fixture_bytes, fixture_json


@pytest.fixture
def rx(tmp_path: Path, signer: Signer) -> Receiver:
    return receiver(tmp_path, signer.pem)


def _reasons(rx: Receiver) -> list[Reason]:
    return [dead.reason for _, dead in rx.store.entries()]


def _details(rx: Receiver) -> list[str]:
    return [dead.detail for _, dead in rx.store.entries()]


def _pd_headers(body: bytes, secret: str = PD_SECRET) -> dict[str, str]:
    return {"X-PagerDuty-Signature": "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_healthz(rx: Receiver) -> None:
    assert rx.client.get("/healthz").json() == {"status": "ok"}


def test_openapi_docs_are_served(rx: Receiver) -> None:
    assert "/alerts/{source}" in rx.client.get("/openapi.json").json()["paths"]
    assert rx.client.get("/docs").status_code == 200


def test_grouped_alertmanager_starts_one_incident_per_alert(rx: Receiver) -> None:
    response = rx.client.post(
        "/alerts/alertmanager", content=fixture_bytes("alertmanager_firing_group.json"), headers=bearer()
    )
    assert response.status_code == 200
    assert len(response.json()["started"]) == 3
    assert sorted(rx.starter.runs) == sorted(set(rx.starter.start_calls))
    assert len(rx.starter.runs) == 3


def test_same_sns_alert_100_times_starts_exactly_one_incident(rx: Receiver, signer: Signer) -> None:
    body = json.dumps(signer.sign(fixture_json("sns_notification_alarm.json"), version="2"))
    created = []
    for _ in range(100):
        response = rx.client.post("/alerts/cloudwatch", content=body)
        assert response.status_code == 200
        created += [run["created"] for run in response.json()["started"]]
    assert created == [True] + [False] * 99
    onset = int(datetime(2026, 11, 14, 10, 15, 30, tzinfo=UTC).timestamp())
    assert list(rx.starter.runs) == [
        f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-prod-5xx-rate:{onset}"
    ]
    assert len(rx.certs_fetched) == 1


def test_ha_alertmanager_pair_starts_one_incident(rx: Receiver) -> None:
    first = fixture_json("alertmanager_firing_group.json")
    second = dict(first, externalURL="http://alertmanager-1:9093")
    for payload in (first, second):
        rx.client.post("/alerts/alertmanager", content=json.dumps(payload), headers=bearer())
    assert len(rx.starter.start_calls) == 6
    assert len(rx.starter.runs) == 3


def test_same_alarm_via_sns_and_eventbridge_starts_one_incident(rx: Receiver, signer: Signer) -> None:
    rx.client.post(
        "/alerts/cloudwatch", content=json.dumps(signer.sign(fixture_json("sns_notification_alarm.json")))
    )
    rx.client.post("/alerts/eventbridge", content=fixture_bytes("eventbridge_alarm.json"), headers=basic())
    assert len(rx.starter.start_calls) == 2
    assert len(rx.starter.runs) == 1


def test_resolved_is_recorded_not_started(rx: Receiver) -> None:
    response = rx.client.post(
        "/alerts/alertmanager", content=fixture_bytes("alertmanager_resolved.json"), headers=bearer()
    )
    assert response.status_code == 200
    assert response.json()["resolved"] == ["alertmanager:4b9a1f0c3e2d7a65"]
    assert rx.starter.start_calls == []
    assert [a.fingerprint for a in rx.starter.resolved] == ["alertmanager:4b9a1f0c3e2d7a65"]


def test_prefect_down_answers_503_and_keeps_the_alert_for_retry(rx: Receiver) -> None:
    rx.starter.down = True
    response = rx.client.post(
        "/alerts/generic", content=fixture_bytes("generic_firing.json"), headers=bearer()
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    ((_, dead),) = rx.store.entries()
    assert dead.reason is Reason.PREFECT_UNAVAILABLE
    assert dead.retryable
    assert dead.alert is not None
    assert dead.alert.fingerprint == "synthetic-check/checkout/eu-west-1/login"


def test_unroutable_alert_is_kept_not_started(rx: Receiver) -> None:
    body = b'{"fingerprint": "disk/db-7", "name": "disk full", "starts_at": "2026-11-14T10:00:00Z"}'
    response = rx.client.post("/alerts/generic", content=body, headers=bearer())
    assert response.status_code == 200
    assert response.json()["started"] == []
    assert _reasons(rx) == [Reason.UNROUTABLE]
    assert rx.starter.start_calls == []


def test_insufficient_data_is_kept_as_not_an_incident(rx: Receiver, signer: Signer) -> None:
    body = json.dumps(signer.sign(fixture_json("sns_notification_insufficient_data.json")))
    response = rx.client.post("/alerts/cloudwatch", content=body)
    assert response.status_code == 200
    assert "INSUFFICIENT_DATA" in response.json()["ignored"][0]
    assert _reasons(rx) == [Reason.NOT_AN_INCIDENT]


def test_sns_subscription_is_confirmed_by_fetching_subscribe_url(rx: Receiver, signer: Signer) -> None:
    envelope = signer.sign(fixture_json("sns_subscription_confirmation.json"))
    response = rx.client.post("/alerts/cloudwatch", content=json.dumps(envelope))
    assert response.status_code == 200
    assert rx.confirmed == [envelope["SubscribeURL"]]


def test_unsigned_subscription_is_not_confirmed(rx: Receiver) -> None:
    response = rx.client.post(
        "/alerts/cloudwatch", content=fixture_bytes("sns_subscription_confirmation.json")
    )
    assert response.status_code == 403
    assert rx.confirmed == []


@pytest.mark.parametrize(
    ("source", "headers", "status", "message"),
    [
        ("alertmanager", {}, 401, "requires an Authorization header"),
        ("alertmanager", bearer("wrong"), 403, "bearer token for alertmanager is wrong"),
        ("alertmanager", basic(), 403, "accepts Bearer authorization"),
        ("eventbridge", basic("eventbridge:wrong"), 403, "basic credentials for eventbridge are wrong"),
        ("eventbridge", {"Authorization": "Basic %%%"}, 403, "not base64"),
        ("pagerduty", {}, 401, "missing X-PagerDuty-Signature"),
        ("pagerduty", {"X-PagerDuty-Signature": "v1=00"}, 403, "does not match"),
    ],
)
def test_auth_failures(rx: Receiver, source: str, headers: dict[str, str], status: int, message: str) -> None:
    response = rx.client.post(f"/alerts/{source}", content=b"{}", headers=headers)
    assert response.status_code == status
    assert response.json()["detail"] == SENDER_DETAIL[status]  # the why is for the operator
    assert message in _details(rx)[0]
    assert rx.starter.start_calls == []


def test_source_without_configured_credentials_refuses_everything(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem, generic_token=None)
    response = rx.client.post(
        "/alerts/generic", content=fixture_bytes("generic_firing.json"), headers=bearer()
    )
    assert response.status_code == 403  # as a configured source answers a wrong token
    assert "FIREBREAK_GENERIC_TOKEN" in _details(rx)[0]


def test_eventbridge_basic_auth_and_pagerduty_signature_pass(rx: Receiver) -> None:
    ok = rx.client.post(
        "/alerts/eventbridge", content=fixture_bytes("eventbridge_alarm.json"), headers=basic()
    )
    body = fixture_bytes("pagerduty_triggered.json")
    pd = rx.client.post("/alerts/pagerduty", content=body, headers=_pd_headers(body))
    assert (ok.status_code, pd.status_code) == (200, 200)
    assert len(rx.starter.runs) == 2


def test_sns_from_a_foreign_topic_is_refused(rx: Receiver, signer: Signer) -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    envelope["TopicArn"] = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"
    response = rx.client.post("/alerts/cloudwatch", content=json.dumps(signer.sign(envelope)))
    assert response.status_code == 403
    assert "FIREBREAK_SNS_TOPIC_ARNS" in _details(rx)[0]


def test_tampered_sns_is_refused(rx: Receiver, signer: Signer) -> None:
    envelope = signer.sign(fixture_json("sns_notification_alarm.json"))
    envelope["Message"] = envelope["Message"].replace('"ALARM"', '"OK"')
    response = rx.client.post("/alerts/cloudwatch", content=json.dumps(envelope))
    assert response.status_code == 403
    assert _reasons(rx) == [Reason.FORBIDDEN]


@pytest.mark.parametrize(
    ("path", "body", "status", "reason", "message"),
    [
        (
            "/alerts/alertmanager",
            b"{not json",
            400,
            Reason.MALFORMED,
            "alertmanager payload: body: not valid JSON",
        ),
        (
            "/alerts/alertmanager",
            b'{"version": "4"}',
            400,
            Reason.MALFORMED,
            "alertmanager payload: alerts: Field",
        ),
        ("/alerts/nagios", b"{}", 404, Reason.UNKNOWN_SOURCE, "unknown alert source 'nagios'"),
        ("/alerts/alertmanager", b" " * (300 * 1024), 413, Reason.TOO_LARGE, "over the 262144-byte limit"),
    ],
)
def test_bad_input_is_a_specific_4xx_and_kept(
    rx: Receiver, path: str, body: bytes, status: int, reason: Reason, message: str
) -> None:
    response = rx.client.post(path, content=body, headers=bearer())
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert _reasons(rx) == [reason]


def test_secrets_never_reach_dead_letters(rx: Receiver) -> None:
    body = fixture_bytes("pagerduty_triggered.json")
    rx.client.post("/alerts/pagerduty", content=body, headers=_pd_headers(body, "attacker-guess"))
    rx.client.post("/alerts/alertmanager", content=b"{}", headers=bearer())
    rx.client.post("/alerts/alertmanager", content=b"{}", headers=bearer("a-wrong-secret-token"))
    texts = [path.read_text() for path, _ in rx.store.entries()]
    assert len(texts) == 3
    signature = _pd_headers(body, "attacker-guess")["X-PagerDuty-Signature"]
    for text in texts:
        assert TOKEN not in text
        assert "a-wrong-secret-token" not in text
        assert signature[3:] not in text
        assert "authorization" not in text.lower()


def test_failed_sns_confirmation_is_503_and_kept(tmp_path: Path, signer: Signer) -> None:
    def failing(url: str) -> bytes:
        raise FetchError(f"GET {url} answered HTTP 403")

    store = DeadLetterStore(tmp_path / "dead")
    app = create_app(
        settings(tmp_path),
        starter=FakeStarter(),
        dead_letters=store,
        cert_fetcher=lambda url: signer.pem,
        confirm_fetcher=failing,
        clock=lambda: FIXTURE_NOW,
    )
    envelope = signer.sign(fixture_json("sns_subscription_confirmation.json"))
    response = TestClient(app).post("/alerts/cloudwatch", content=json.dumps(envelope))
    assert response.status_code == 503
    assert "answered HTTP 403" not in response.text
    assert [(dead.reason, "answered HTTP 403" in dead.detail) for _, dead in store.entries()] == [
        (Reason.SNS_CONFIRM_FAILED, True)
    ]
