from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from alerts.errors import AlertParseError
from alerts.eventbridge import parse_eventbridge
from alerts.models import AlertStatus
from alerts.sns import parse_cloudwatch
from tests.alerts.signing import fixture_bytes, fixture_json


def test_single_metric_alarm_becomes_a_firing_alert_with_its_metric_and_tags() -> None:
    (alert,) = parse_eventbridge(fixture_bytes("eventbridge_alarm.json")).alerts
    assert alert.source == "eventbridge"
    assert alert.status is AlertStatus.FIRING
    assert alert.region == "eu-west-1"
    assert alert.name == "checkout-prod-5xx-rate"
    assert alert.metric is not None
    assert (alert.metric.namespace, alert.metric.name, alert.metric.statistic) == (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        "Sum",
    )
    assert alert.labels == {
        "LoadBalancer": "app/checkout-prod/50dc6c495c0c9188",
        "service": "checkout",
        "env": "prod",
    }
    assert alert.starts_at == datetime(2026, 11, 14, 10, 15, 30, 482000, tzinfo=UTC)


def test_same_alarm_via_sns_and_eventbridge_has_the_same_dedup_key() -> None:
    (via_eventbridge,) = parse_eventbridge(fixture_bytes("eventbridge_alarm.json")).alerts
    (via_sns,) = parse_cloudwatch(fixture_bytes("sns_notification_alarm.json")).alerts
    assert via_eventbridge.dedup_key == via_sns.dedup_key


def test_composite_alarm_has_its_rule_and_no_metric() -> None:
    (alert,) = parse_eventbridge(fixture_bytes("eventbridge_composite.json")).alerts
    assert alert.metric is None
    assert alert.annotations["alarm_rule"] == (
        "ALARM(payments-prod-latency-p99) OR ALARM(payments-prod-error-rate)"
    )
    assert alert.fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:payments-prod-degraded"


def test_ok_is_resolved() -> None:
    (alert,) = parse_eventbridge(fixture_bytes("eventbridge_ok.json")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.annotations["resolved_at"] == "2026-11-14T10:42:05.117000+00:00"


def test_insufficient_data_and_other_events_are_ignored() -> None:
    event = fixture_json("eventbridge_alarm.json")
    event["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    assert parse_eventbridge(json.dumps(event)).ignored == [
        "alarm 'checkout-prod-5xx-rate' went OK -> INSUFFICIENT_DATA: not an incident"
    ]
    event["detail-type"] = "CloudWatch Alarm Configuration Change"
    result = parse_eventbridge(json.dumps(event))
    assert result.alerts == []
    assert "not an alarm state change" in result.ignored[0]


def test_missing_state_timestamp_names_the_field() -> None:
    event = fixture_json("eventbridge_alarm.json")
    del event["detail"]["state"]["timestamp"]
    with pytest.raises(AlertParseError) as caught:
        parse_eventbridge(json.dumps(event))
    assert caught.value.field == "detail.state.timestamp"
