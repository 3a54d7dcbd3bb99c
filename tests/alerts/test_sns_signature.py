from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.errors import BadCredentialsError, FetchError, MissingCredentialsError
from alerts.sns import parse_envelope
from alerts.sns_signature import CertificateCache, canonical_string, verify_sns_signature
from tests.alerts.signing import CERT_URL, Signer, aws_string_to_sign, fixture_json

FIXTURES = [
    "sns_notification_alarm.json",
    "sns_subscription_confirmation.json",
    "sns_unsubscribe_confirmation.json",
]


class CountingFetcher:
    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


def _verify(signed: dict[str, object], pem: bytes) -> None:
    verify_sns_signature(parse_envelope(json.dumps(signed)), CertificateCache(CountingFetcher(pem)))


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("version", ["1", "2"])
def test_valid_signatures_verify(signer: Signer, name: str, version: str) -> None:
    _verify(signer.sign(fixture_json(name), version=version), signer.pem)


@pytest.mark.parametrize("name", FIXTURES)
def test_tampered_message_is_refused(signer: Signer, name: str) -> None:
    signed = signer.sign(fixture_json(name), version="2")
    signed["Message"] = signed["Message"].replace("a", "b", 1)
    with pytest.raises(BadCredentialsError, match="does not match"):
        _verify(signed, signer.pem)


def test_tampered_subject_is_refused(signer: Signer) -> None:
    signed = signer.sign(fixture_json("sns_notification_alarm.json"))
    signed["Subject"] = "OK: all fine"
    with pytest.raises(BadCredentialsError, match="does not match"):
        _verify(signed, signer.pem)


def test_signature_by_another_key_is_refused(signer: Signer) -> None:
    other = Signer.create()
    signed = other.sign(fixture_json("sns_notification_alarm.json"))
    with pytest.raises(BadCredentialsError, match="does not match"):
        _verify(signed, signer.pem)


def test_version_1_signature_claimed_as_version_2_is_refused(signer: Signer) -> None:
    signed = signer.sign(fixture_json("sns_notification_alarm.json"), version="1")
    signed["SignatureVersion"] = "2"
    with pytest.raises(BadCredentialsError):
        _verify(signed, signer.pem)


@pytest.mark.parametrize(
    "cert_url",
    [
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService.pem",
        "https://evil.example.com/SimpleNotificationService.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example.com/cert.pem",
    ],
)
def test_cert_url_off_sns_is_refused_before_fetching(signer: Signer, cert_url: str) -> None:
    signed = signer.sign(fixture_json("sns_notification_alarm.json"), cert_url=cert_url)
    fetcher = CountingFetcher(signer.pem)
    with pytest.raises(BadCredentialsError, match="SigningCertURL"):
        verify_sns_signature(parse_envelope(json.dumps(signed)), CertificateCache(fetcher))
    assert fetcher.urls == []


def test_unknown_signature_version_is_refused(signer: Signer) -> None:
    signed = signer.sign(fixture_json("sns_notification_alarm.json"))
    signed["SignatureVersion"] = "3"
    with pytest.raises(BadCredentialsError, match="SignatureVersion"):
        _verify(signed, signer.pem)


def test_unsigned_message_is_missing_credentials(signer: Signer) -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    del envelope["Signature"]
    with pytest.raises(MissingCredentialsError):
        _verify(envelope, signer.pem)


def test_signature_not_base64_is_refused(signer: Signer) -> None:
    signed = signer.sign(fixture_json("sns_notification_alarm.json"))
    signed["Signature"] = "not base64!!"
    with pytest.raises(BadCredentialsError, match="base64"):
        _verify(signed, signer.pem)


def test_expired_certificate_is_refused() -> None:
    old = Signer.create(valid_from=datetime.now(UTC) - timedelta(days=90))
    with pytest.raises(BadCredentialsError, match="not valid now"):
        _verify(old.sign(fixture_json("sns_notification_alarm.json")), old.pem)


def test_certificate_that_is_not_pem_is_refused(signer: Signer) -> None:
    with pytest.raises(BadCredentialsError, match="not a PEM"):
        _verify(signer.sign(fixture_json("sns_notification_alarm.json")), b"<html>nope</html>")


def test_certificate_fetch_failure_is_refused(signer: Signer) -> None:
    def failing(url: str) -> bytes:
        raise FetchError(f"GET {url} answered HTTP 404")

    signed = signer.sign(fixture_json("sns_notification_alarm.json"))
    with pytest.raises(BadCredentialsError, match="could not be fetched"):
        verify_sns_signature(parse_envelope(json.dumps(signed)), CertificateCache(failing))


def test_certificate_is_fetched_once_per_url(signer: Signer) -> None:
    fetcher = CountingFetcher(signer.pem)
    cache = CertificateCache(fetcher)
    for name in FIXTURES:
        verify_sns_signature(parse_envelope(json.dumps(signer.sign(fixture_json(name)))), cache)
    assert fetcher.urls == [CERT_URL]


@pytest.mark.parametrize("name", FIXTURES)
def test_canonical_string_is_the_documented_one(name: str) -> None:
    envelope = fixture_json(name)
    assert canonical_string(parse_envelope(json.dumps(envelope))) == aws_string_to_sign(envelope)


def test_notification_without_subject_leaves_subject_out(signer: Signer) -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    del envelope["Subject"]
    assert b"Subject" not in canonical_string(parse_envelope(json.dumps(envelope)))
    _verify(signer.sign(envelope), signer.pem)
