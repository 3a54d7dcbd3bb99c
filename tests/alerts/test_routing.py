from __future__ import annotations

from pathlib import Path

import pytest

from alerts.alertmanager import parse_alertmanager
from alerts.errors import RoutingConfigError
from alerts.eventbridge import parse_eventbridge
from alerts.generic import parse_generic
from alerts.pagerduty import parse_pagerduty
from alerts.routing import Routing, load_routing, route
from alerts.sns import parse_cloudwatch
from tests.alerts.signing import fixture_bytes


def test_alertmanager_routes_by_labels() -> None:
    alerts = [
        route(a, Routing())
        for a in parse_alertmanager(fixture_bytes("alertmanager_firing_group.json")).alerts
    ]
    assert [(a.service, a.environment, a.region) for a in alerts] == [
        ("checkout", "prod", "eu-west-1"),
        ("checkout", "prod", "eu-west-1"),
        ("payments", "staging", None),
    ]


def test_cloudwatch_routes_by_service_dimension_then_alarm_name_prefix() -> None:
    (alert,) = parse_cloudwatch(fixture_bytes("sns_notification_alarm.json")).alerts
    routed = route(alert, Routing())
    assert (routed.service, routed.environment, routed.region) == ("checkout", "prod", "eu-west-1")


def test_composite_alarm_routes_by_name_prefix() -> None:
    (alert,) = parse_eventbridge(fixture_bytes("eventbridge_composite.json")).alerts
    routed = route(alert, Routing())
    assert (routed.service, routed.environment) == ("payments", "prod")


def test_pagerduty_routes_by_service_name() -> None:
    (alert,) = parse_pagerduty(fixture_bytes("pagerduty_triggered.json")).alerts
    routed = route(alert, Routing())
    assert (routed.service, routed.environment) == ("checkout", "prod")


def test_explicit_generic_fields_win_over_labels() -> None:
    (alert,) = parse_generic(
        b'{"fingerprint": "f", "name": "x", "starts_at": "2026-11-14T10:00:00Z",'
        b' "service": "checkout", "labels": {"service": "payments", "env": "prod"}}'
    ).alerts
    routed = route(alert, Routing())
    assert (routed.service, routed.environment) == ("checkout", "prod")


def test_unknown_service_is_cleared_but_the_alert_kept() -> None:
    (_, _, payments) = parse_alertmanager(fixture_bytes("alertmanager_firing_group.json")).alerts
    routed = route(payments, Routing(services=["checkout"]))
    assert routed.service is None
    assert routed.environment == "staging"
    assert not routed.routable


def test_alert_with_nothing_to_route_on_is_unroutable() -> None:
    (alert,) = parse_generic(
        b'{"fingerprint": "f", "name": "disk full", "starts_at": "2026-11-14T10:00:00Z"}'
    ).alerts
    assert not route(alert, Routing()).routable


def test_routing_file_overrides_one_source_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "sources:\n"
        "  alertmanager:\n"
        "    service: [app]\n"
        "    environment: [namespace]\n"
        "    patterns:\n"
        "      - {field: 'label:cluster', regex: '^(?P<region>[a-z]{2}-[a-z]+-\\d)-'}\n"
        "services: [checkout, payments]\n"
    )
    routing = load_routing(path)
    (alert,) = parse_generic(
        b'{"fingerprint": "f", "name": "x", "starts_at": "2026-11-14T10:00:00Z",'
        b' "labels": {"service": "checkout"}}'
    ).alerts
    assert route(alert, routing).service == "checkout"  # generic defaults kept
    (am, *_) = parse_alertmanager(fixture_bytes("alertmanager_firing_group.json")).alerts
    relabelled = am.model_copy(
        update={"labels": {"app": "payments", "namespace": "prod", "cluster": "eu-west-1-blue"}}
    )
    routed = route(relabelled, routing)
    assert (routed.service, routed.environment, routed.region) == ("payments", "prod", "eu-west-1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [1, 2]", "sources: Input should be a valid dictionary"),
        ("sources:\n  generic:\n    patterns: [{regex: '('}]", "not a valid regex"),
        ("sources:\n  generic:\n    patterns: [{regex: '^x'}]", "named group"),
        ("sources:\n  generic:\n    servce: [x]", "sources.generic.servce: Extra inputs"),
        ("sources: {", "not valid YAML"),
    ],
)
def test_bad_routing_file_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(RoutingConfigError, match=message) as caught:
        load_routing(path)
    assert str(path) in str(caught.value)


def test_missing_routing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match="cannot read"):
        load_routing(tmp_path / "absent.yaml")
