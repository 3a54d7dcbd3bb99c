from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from alerts.errors import AlertParseError
from alerts.models import AlertStatus
from alerts.sns import is_sns_url, parse_cloudwatch
from tests.alerts.signing import fixture_bytes, fixture_json


def test_alarm_notification_becomes_a_firing_alert() -> None:
    result = parse_cloudwatch(fixture_bytes("sns_notification_alarm.json"))

    (alert,) = result.alerts
    assert alert.source == "cloudwatch"
    assert alert.status is AlertStatus.FIRING
    assert alert.fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-prod-5xx-rate"
    assert alert.region == "eu-west-1"
    assert alert.starts_at == datetime(2026, 11, 14, 10, 15, 30, 482000, tzinfo=UTC)
    assert alert.metric is not None
    assert alert.metric.statistic == "Sum"
    assert alert.metric.threshold == 5.0
    assert alert.metric.comparison == "GreaterThanThreshold"
    assert alert.metric.dimensions["LoadBalancer"] == "app/checkout-prod/50dc6c495c0c9188"
    assert alert.labels["Service"] == "checkout"
    assert alert.summary.startswith("Threshold Crossed")
    assert alert.annotations["sns_message_id"] == "2c9b8f8e-6b0b-5c6b-9a47-1f7a1c3ab2d1"


def test_ok_notification_is_resolved_with_its_end_time() -> None:
    (alert,) = parse_cloudwatch(fixture_bytes("sns_notification_ok.json")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.annotations["resolved_at"] == "2026-11-14T10:42:05.117000+00:00"


def test_insufficient_data_is_ignored_not_an_incident() -> None:
    result = parse_cloudwatch(fixture_bytes("sns_notification_insufficient_data.json"))
    assert result.alerts == []
    assert result.ignored == ["alarm 'checkout-prod-5xx-rate' went OK -> INSUFFICIENT_DATA: not an incident"]


def test_subscription_confirmation_asks_for_its_subscribe_url() -> None:
    result = parse_cloudwatch(fixture_bytes("sns_subscription_confirmation.json"))
    assert result.alerts == []
    assert result.subscribe_url is not None
    assert result.subscribe_url.startswith("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")


def test_subscription_confirmation_to_a_foreign_host_is_refused() -> None:
    envelope = fixture_json("sns_subscription_confirmation.json")
    envelope["SubscribeURL"] = "https://evil.example.com/?Action=ConfirmSubscription"
    with pytest.raises(AlertParseError, match="SubscribeURL"):
        parse_cloudwatch(json.dumps(envelope))


def test_unsubscribe_confirmation_is_ignored() -> None:
    result = parse_cloudwatch(fixture_bytes("sns_unsubscribe_confirmation.json"))
    assert result.alerts == []
    assert "unsubscribed" in result.ignored[0]


def test_old_message_without_arn_gets_region_from_display_name() -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    message = json.loads(envelope["Message"])
    del message["AlarmArn"]
    message["Region"] = "US East (N. Virginia)"
    envelope["Message"] = json.dumps(message)
    (alert,) = parse_cloudwatch(json.dumps(envelope)).alerts
    assert alert.region == "us-east-1"
    assert alert.fingerprint == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-5xx-rate"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.pop("AlarmName"), "Message.AlarmName"),
        (lambda m: m.update(StateChangeTime="yesterday"), "Message.StateChangeTime"),
        (lambda m: m.update(Trigger={"Dimensions": [{"name": "x"}]}), "Message.Trigger.Dimensions[0].value"),
    ],
)
def test_bad_alarm_message_names_the_field(mutate: object, field: str) -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    message = json.loads(envelope["Message"])
    mutate(message)  # type: ignore[operator]
    envelope["Message"] = json.dumps(message)
    with pytest.raises(AlertParseError) as caught:
        parse_cloudwatch(json.dumps(envelope))
    assert caught.value.field == field


def test_message_that_is_not_json_names_message() -> None:
    envelope = fixture_json("sns_notification_alarm.json")
    envelope["Message"] = "ALARM: it broke"
    with pytest.raises(AlertParseError, match=r"cloudwatch payload: Message: not valid JSON"):
        parse_cloudwatch(json.dumps(envelope))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://sns.eu-west-1.amazonaws.com/cert.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/cert.pem", True),
        ("http://sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.com/cert.pem", False),
        ("https://evil.com/sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://s3.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://x.sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://user@sns.eu-west-1.amazonaws.com/cert.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/cert.pem", False),
        ("https://[::1/", False),
    ],
)
def test_is_sns_url(url: str, ok: bool) -> None:
    assert is_sns_url(url) is ok
