from __future__ import annotations

import json

import pytest

from alerts.errors import AlertParseError
from alerts.generic import parse_generic
from alerts.models import AlertStatus
from tests.alerts.signing import fixture_bytes, fixture_json


def test_single_generic_alert_keeps_explicit_routing_and_metric() -> None:
    (alert,) = parse_generic(fixture_bytes("generic_firing.json")).alerts
    assert (alert.service, alert.environment, alert.region) == ("checkout", "prod", "eu-west-1")
    assert alert.metric is not None
    assert alert.metric.threshold == 1.0
    assert alert.raw == fixture_json("generic_firing.json")


def test_list_of_generic_alerts() -> None:
    firing, resolved = parse_generic(fixture_bytes("generic_list.json")).alerts
    assert firing.status is AlertStatus.FIRING
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.annotations["resolved_at"] == "2026-11-14T03:52:10+00:00"


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"name": "x", "starts_at": "2026-11-14T10:00:00Z"}, "fingerprint", "Field required"),
        ({"fingerprint": "f", "name": "x", "starts_at": "2026-11-14T10:00:00"}, "starts_at", "timezone"),
        (
            {"fingerprint": "f", "name": "x", "starts_at": "2026-11-14T10:00:00Z", "enviroment": "prod"},
            "enviroment",
            "Extra inputs",
        ),
        (
            [{"fingerprint": "f", "name": "x", "starts_at": "2026-11-14T10:00:00Z", "status": "open"}],
            "[0].status",
            "firing",
        ),
    ],
)
def test_bad_generic_alert_names_the_field(payload: object, field: str, problem: str) -> None:
    with pytest.raises(AlertParseError) as caught:
        parse_generic(json.dumps(payload))
    assert caught.value.field == field
    assert problem in caught.value.problem


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe\x00", b"[" * 100_000])
def test_body_that_is_not_json_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(AlertParseError) as caught:
        parse_generic(body)
    assert caught.value.field == "body"
