"""Issue 25, point 2: SNS intake accepts only your topics, SNS's certificates, fresh messages,
and does not fetch for every URL a sender names."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from alerts.errors import BadCredentialsError, FetchError
from alerts.fetch import fetch_sns_url
from alerts.sns import parse_envelope
from alerts.sns_signature import CertificateCache, verify_sns_signature
from firebreak.cli import app
from tests.alerts.fakes import FIXTURE_NOW, Receiver, receiver
from tests.alerts.signing import CERT_URL, Signer, fixture_json

runner = CliRunner()


def _post(rx: Receiver, envelope: dict[str, object]) -> httpx.Response:
    response: httpx.Response = rx.client.post("/alerts/cloudwatch", content=json.dumps(envelope))
    return response


def test_an_empty_allow_list_refuses_every_signed_message(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem, sns_topic_arns="")
    for name in ("sns_notification_alarm.json", "sns_subscription_confirmation.json"):
        response = _post(rx, signer.sign(fixture_json(name)))
        assert response.status_code == 403, response.text
    assert rx.confirmed == [] and rx.starter.start_calls == []
    assert rx.certs_fetched == []  # refused before any outbound fetch
    assert all("FIREBREAK_SNS_TOPIC_ARNS" in dead.detail for _, dead in rx.store.entries())


def test_serve_says_at_startup_that_cloudwatch_refuses_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_SNS_TOPIC_ARNS", raising=False)
    monkeypatch.setenv("FIREBREAK_DEAD_LETTER_DIR", str(tmp_path / "dead"))
    served: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **_: served.append(app))
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    assert "FIREBREAK_SNS_TOPIC_ARNS is empty" in result.output
    assert "/alerts/cloudwatch refuses every message" in result.output


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.s3.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.eu-west-1.amazonaws.com/attacker-bucket/any.pem",
    ],
)
def test_the_cert_must_come_from_sns_in_the_topics_region(
    tmp_path: Path, signer: Signer, cert_url: str
) -> None:
    rx = receiver(tmp_path, signer.pem)
    response = _post(rx, signer.sign(fixture_json("sns_notification_alarm.json"), cert_url=cert_url))
    assert response.status_code == 403
    assert rx.certs_fetched == []
    assert "SigningCertURL" in rx.store.entries()[0][1].detail


def test_a_certificate_not_issued_to_sns_is_refused(tmp_path: Path) -> None:
    other = Signer.create(common_name="attacker.example.com")
    rx = receiver(tmp_path, other.pem)
    response = _post(rx, other.sign(fixture_json("sns_notification_alarm.json")))
    assert response.status_code == 403
    assert "subject" in rx.store.entries()[0][1].detail
    assert rx.starter.start_calls == []


@pytest.mark.parametrize("timestamp", ["2020-01-01T00:00:00.000Z", "2026-11-14T09:30:00.000Z"])
def test_a_message_older_than_an_hour_is_refused(tmp_path: Path, signer: Signer, timestamp: str) -> None:
    rx = receiver(tmp_path, signer.pem)
    envelope = dict(fixture_json("sns_notification_alarm.json"), Timestamp=timestamp)
    response = _post(rx, signer.sign(envelope))
    assert response.status_code == 403
    assert "older than" in rx.store.entries()[0][1].detail
    assert rx.starter.start_calls == []


def test_a_fresh_message_on_the_injected_clock_is_accepted(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem, clock=lambda: FIXTURE_NOW)
    assert _post(rx, signer.sign(fixture_json("sns_notification_alarm.json"))).status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_certificate_fetch_is_remembered_briefly(signer: Signer) -> None:
    fetched: list[str] = []

    def failing(url: str) -> bytes:
        fetched.append(url)
        raise FetchError(f"GET {url} answered HTTP 503")

    clock = Clock()
    cache = CertificateCache(failing, monotonic=clock)
    envelope = parse_envelope(json.dumps(signer.sign(fixture_json("sns_notification_alarm.json"))))
    for _ in range(3):
        with pytest.raises(BadCredentialsError, match="could not be fetched"):
            verify_sns_signature(envelope, cache)
    assert fetched == [CERT_URL]
    clock.now += CertificateCache.FAILURE_MEMORY_SECONDS + 1
    with pytest.raises(BadCredentialsError):
        verify_sns_signature(envelope, cache)
    assert fetched == [CERT_URL, CERT_URL]


def test_the_certificate_cache_is_bounded(signer: Signer) -> None:
    cache = CertificateCache(lambda url: signer.pem, size=2)
    urls = [CERT_URL.replace("9c6465", f"{n:06x}") for n in range(4)]
    for url in urls:
        cache.get(url)
    assert cache.cached() == urls[2:]


def test_a_fetch_that_outlasts_its_deadline_fails() -> None:
    ticks = iter(float(n) for n in range(100))

    def trickle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x"] * 50))

    with pytest.raises(FetchError, match="took longer than"):
        fetch_sns_url(
            CERT_URL,
            transport=httpx.MockTransport(trickle),
            deadline_seconds=5.0,
            monotonic=lambda: next(ticks),
        )


def test_an_hour_is_measured_on_the_injected_clock(tmp_path: Path, signer: Signer) -> None:
    late = FIXTURE_NOW + timedelta(hours=2)
    rx = receiver(tmp_path, signer.pem, clock=lambda: late)
    assert _post(rx, signer.sign(fixture_json("sns_notification_alarm.json"))).status_code == 403
    assert rx.starter.start_calls == []
