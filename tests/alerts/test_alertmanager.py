from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from alerts.alertmanager import label_fingerprint, parse_alertmanager
from alerts.errors import AlertParseError
from alerts.models import AlertStatus
from tests.alerts.signing import fixture_bytes, fixture_json


def test_grouped_webhook_gives_one_alert_per_alert() -> None:
    result = parse_alertmanager(fixture_bytes("alertmanager_firing_group.json"))
    assert [a.fingerprint for a in result.alerts] == [
        "alertmanager:4b9a1f0c3e2d7a65",
        "alertmanager:9e0c5d2b1a7f3364",
        "alertmanager:1f2e3d4c5b6a7988",
    ]
    first = result.alerts[0]
    assert first.status is AlertStatus.FIRING
    assert first.name == "HighErrorRate"
    assert first.summary == "Checkout error rate 12% (threshold 2%)"
    assert first.labels["instance"] == "checkout-7d9f8c6b5-x2k4p"
    assert first.raw["alert"]["fingerprint"] == "4b9a1f0c3e2d7a65"  # type: ignore[index,call-overload]
    assert result.alerts[2].summary == "Payments error rate 4%"
    assert result.alerts[2].starts_at == datetime(2026, 11, 14, 10, 13, 7, 118223, tzinfo=UTC)


def test_resolved_keeps_onset_and_records_end() -> None:
    (alert,) = parse_alertmanager(fixture_bytes("alertmanager_resolved.json")).alerts
    (firing, *_) = parse_alertmanager(fixture_bytes("alertmanager_firing_group.json")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.dedup_key == firing.dedup_key
    assert alert.annotations["resolved_at"] == "2026-11-14T10:44:07.001000+00:00"


def test_grafana_webhook_is_accepted_and_its_extras_ignored() -> None:
    (alert,) = parse_alertmanager(fixture_bytes("grafana_firing.json")).alerts
    assert alert.fingerprint == "alertmanager:a3c94b7d10e2f5c6"
    assert alert.name == "Checkout latency p99"


def test_truncated_alerts_are_reported() -> None:
    payload = fixture_json("alertmanager_firing_group.json")
    payload["truncatedAlerts"] = 7
    assert "truncated 7 alerts" in parse_alertmanager(json.dumps(payload)).ignored[0]


def test_missing_fingerprint_falls_back_to_a_label_hash() -> None:
    payload = fixture_json("alertmanager_firing_group.json")
    del payload["alerts"][0]["fingerprint"]
    first = parse_alertmanager(json.dumps(payload)).alerts[0]
    assert first.fingerprint == "alertmanager:" + label_fingerprint(payload["alerts"][0]["labels"])
    assert label_fingerprint({"a": "1", "b": "2"}) == label_fingerprint({"b": "2", "a": "1"})


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p["alerts"][1].update(status="pending"), "alerts[1].status"),
        (lambda p: p["alerts"][2]["labels"].update(severity=3), "alerts[2].labels.severity"),
        (lambda p: p["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
        (lambda p: p.update(alerts={}), "alerts"),
    ],
)
def test_bad_payload_names_the_field(mutate: object, field: str) -> None:
    payload = fixture_json("alertmanager_firing_group.json")
    mutate(payload)  # type: ignore[operator]
    with pytest.raises(AlertParseError) as caught:
        parse_alertmanager(json.dumps(payload))
    assert caught.value.field == field
