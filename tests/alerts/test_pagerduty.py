from __future__ import annotations

import hashlib
import hmac

import pytest

from alerts.errors import BadCredentialsError, MissingCredentialsError
from alerts.models import AlertStatus
from alerts.pagerduty import parse_pagerduty, verify_pagerduty_signature
from tests.alerts.signing import fixture_bytes

BODY = fixture_bytes("pagerduty_triggered.json")


def _sig(secret: str, body: bytes = BODY) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_triggered_is_firing_from_incident_creation() -> None:
    (alert,) = parse_pagerduty(BODY).alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.fingerprint == "pagerduty:Q2W5ZK1RN3LR9A"
    assert alert.labels == {
        "pagerduty_incident": "Q2W5ZK1RN3LR9A",
        "urgency": "high",
        "pagerduty_service": "checkout-prod",
        "priority": "P1",
    }
    assert alert.starts_at.isoformat() == "2026-11-14T10:15:41+00:00"


def test_resolved_is_recorded_with_its_time() -> None:
    (alert,) = parse_pagerduty(fixture_bytes("pagerduty_resolved.json")).alerts
    (triggered,) = parse_pagerduty(BODY).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.fingerprint == triggered.fingerprint
    assert alert.annotations["resolved_at"] == "2026-11-14T10:47:12.503000+00:00"


def test_other_event_types_are_ignored() -> None:
    result = parse_pagerduty(fixture_bytes("pagerduty_acknowledged.json"))
    assert result.alerts == []
    assert result.ignored == ["PagerDuty event 'incident.acknowledged' starts or resolves nothing"]


def test_valid_signature_passes() -> None:
    verify_pagerduty_signature(BODY, _sig("s3cret"), ["s3cret"])


def test_one_of_several_signatures_during_rotation_passes() -> None:
    header = f"{_sig('old-secret')}, {_sig('new-secret')}"
    verify_pagerduty_signature(BODY, header, ["new-secret"])
    verify_pagerduty_signature(BODY, header, ["unrelated", "old-secret"])


@pytest.mark.parametrize(
    "header",
    [
        _sig("wrong"),
        _sig("s3cret", BODY + b" "),
        "v0=" + _sig("s3cret")[3:],
        "v1=zz",
    ],
)
def test_invalid_signature_is_refused(header: str) -> None:
    with pytest.raises(BadCredentialsError):
        verify_pagerduty_signature(BODY, header, ["s3cret"])


def test_missing_signature_is_missing_credentials() -> None:
    with pytest.raises(MissingCredentialsError):
        verify_pagerduty_signature(BODY, None, ["s3cret"])
