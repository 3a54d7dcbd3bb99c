"""The snapshot's evidence for the load and dependency rules, read back from moto: the traffic
baseline, saturation, dependency health, CloudTrail writes with their caller, and a dependency
source failing alone."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto import mock_aws

from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.catalog import Catalog
from tasks.evidence import EvidenceBundle
from tasks.snapshot import take_snapshot

REGION = "eu-west-1"
AWS = AwsTarget(region=REGION)
NS = "Api"
DEP_ALARM = "payments-health"


def _metric(name: str, metric: str, threshold: float, role: str) -> dict[str, object]:
    return {"name": name, "namespace": NS, "metric_name": metric, "statistic": "Average",
            "healthy_threshold": threshold, "role": role}  # fmt: skip


CATALOG = Catalog.model_validate(
    {"services": {"api": {"prod": {
        "primary_region": REGION,
        "regions": {REGION: {
            "ecs": {"cluster": "api", "service": "web"},
            "capacity": {"max": 4, "step": 1},
            "alarms": ["api-5xx"],
            "metrics": [
                _metric("error_rate", "ErrorRate", 5.0, "signal"),
                _metric("cpu", "CPUUtilization", 80.0, "saturation"),
                {**_metric("requests", "Requests", 1.0, "traffic"), "statistic": "Sum",
                 "healthy_when": "above"},
            ],
        }},
        "dependencies": {
            "payments": {"metric": _metric("health", "PaymentsErrors", 1.0, "signal"), "alarm": DEP_ALARM},
            "search": {"alarm": "search-health"},
        },
    }}}}
)  # fmt: skip


def _put(metric: str, values: list[tuple[datetime, float]]) -> None:
    client("cloudwatch", AWS).put_metric_data(
        Namespace=NS, MetricData=[{"MetricName": metric, "Timestamp": t, "Value": v} for t, v in values]
    )


@pytest.fixture(scope="module")
def onset() -> Iterator[datetime]:
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        start = now - timedelta(minutes=5)
        # An hour of ~100 requests a minute before onset, then three minutes at 300.
        _put("Requests", [(start - timedelta(minutes=m), 100.0 + m % 3) for m in range(1, 56)])
        _put("Requests", [(start + timedelta(minutes=m), 300.0) for m in range(3)])
        _put("CPUUtilization", [(start + timedelta(minutes=m), 95.0) for m in range(3)])
        _put("ErrorRate", [(start + timedelta(minutes=m), 9.0) for m in range(3)])
        _put("PaymentsErrors", [(start + timedelta(minutes=m), 0.0) for m in range(3)])
        cw = client("cloudwatch", AWS)
        for alarm in (DEP_ALARM, "api-5xx"):
            cw.put_metric_alarm(
                AlarmName=alarm, Namespace=NS, MetricName="PaymentsErrors", Statistic="Average", Period=60,
                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            )  # fmt: skip
        cw.set_alarm_state(AlarmName=DEP_ALARM, StateValue="ALARM", StateReason="seeded")
        ecs = client("ecs", AWS)
        ecs.create_cluster(clusterName="api")
        ecs.register_task_definition(
            family="api", containerDefinitions=[{"name": "w", "image": "i", "memory": 8}]
        )
        ecs.create_service(cluster="api", serviceName="web", taskDefinition="api:1", desiredCount=4)
        yield start
    clear_client_cache()


def snapshot(onset: datetime) -> EvidenceBundle:
    return take_snapshot(catalog=CATALOG, service="api", environment="prod", onset=onset, aws=AWS)


@contextlib.contextmanager
def refuse(operation: str, when: Any) -> Iterator[None]:
    """``cloudwatch.operation`` answers AccessDenied when ``when(api params)``; other calls reach
    moto. The params are seen before serialisation and the verdict travels in the call's context
    (the snapshot's sources share the client from several threads)."""

    def judge(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["refused"] = when(params)

    def hook(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not context.get("refused"):
            return None
        meta = {"HTTPStatusCode": 403, "HTTPHeaders": {}, "RetryAttempts": 0}
        error = {"Error": {"Code": "AccessDeniedException", "Message": "denied"}, "ResponseMetadata": meta}
        return AWSResponse("https://injected", 403, HTTPHeaders(), None), error

    events = client("cloudwatch", AWS).meta.events
    hooks = [
        (f"before-parameter-build.cloudwatch.{operation}", judge),
        (f"before-call.cloudwatch.{operation}", hook),
    ]
    for event, handler in hooks:
        events.register_first(event, handler, unique_id=f"refuse-{id(handler)}")
    try:
        yield
    finally:
        for event, handler in hooks:
            events.unregister(event, handler, unique_id=f"refuse-{id(handler)}")


def test_the_traffic_baseline_is_the_median_of_the_hour_before_onset(onset: datetime) -> None:
    ev = snapshot(onset).regions[REGION]
    assert ev.baseline is not None and ev.baseline.metric == "requests"
    assert ev.baseline.median == 101.0 and ev.baseline.points == 55
    assert ev.traffic_rise() == pytest.approx(300 / 101)


def test_saturation_is_read_but_is_not_an_unhealthy_symptom(onset: datetime) -> None:
    ev = snapshot(onset).regions[REGION]
    assert ev.saturated_metrics() == ["cpu"]
    assert ev.unhealthy_metrics() == ["error_rate"]
    assert ev.ecs is not None and ev.ecs.desired == 4  # the catalog's cap: 4


def test_dependency_health_comes_from_its_metric_and_its_alarm(onset: datetime) -> None:
    deps = snapshot(onset).regions[REGION].dependencies
    assert (deps["payments"].metric_value, deps["payments"].metric_healthy) == (0.0, True)
    assert deps["payments"].alarm_state == "ALARM" and deps["payments"].unhealthy
    # search's alarm does not exist: unknown, not healthy and not unhealthy
    assert (deps["search"].alarm_state, deps["search"].metric_healthy, deps["search"].unhealthy) == (
        None, None, False,
    )  # fmt: skip


def test_a_refused_dependency_alarm_read_fails_the_dependency_source_alone(onset: datetime) -> None:
    with refuse("DescribeAlarms", lambda p: DEP_ALARM in p.get("AlarmNames", [])):
        bundle = snapshot(onset)
    assert [(e.source, e.region) for e in bundle.source_errors] == [("dependencies", REGION)]
    ev = bundle.regions[REGION]
    assert ev.dependencies == {} and ev.alarms == {"api-5xx": "OK"} and ev.baseline is not None


def test_a_refused_baseline_read_fails_the_baseline_source_alone(onset: datetime) -> None:
    hour_before = onset - timedelta(minutes=30)
    with refuse("GetMetricData", lambda p: p["StartTime"] < hour_before):
        bundle = snapshot(onset)
    assert [e.source for e in bundle.source_errors] == ["cloudwatch.baseline"]
    assert bundle.regions[REGION].baseline is None and bundle.regions[REGION].saturated_metrics() == ["cpu"]


def test_cloudtrail_writes_keep_who_made_them_and_skip_aws_services(onset: datetime) -> None:
    at = onset - timedelta(minutes=3)
    service_arn = f"arn:aws:ecs:{REGION}:123456789012:service/api/web"

    def event(name: str, identity: dict[str, str], agent: str) -> dict[str, Any]:
        record = {"eventName": name, "requestID": f"req-{name}", "userIdentity": identity, "userAgent": agent}
        return {"EventName": name, "EventTime": at, "Username": identity.get("userName", "?"),
                "Resources": [{"ResourceName": service_arn}],
                "CloudTrailEvent": json.dumps(record)}  # fmt: skip

    person = {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "userName": "bob"}
    events = [
        event("UpdateService", person, "aws-cli/2.15"),
        event("UpdateService", {"type": "AWSService", "invokedBy": "ecs.amazonaws.com"}, "ecs.amazonaws.com"),
    ]
    trail = client("cloudtrail", AWS)

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        meta = {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse("https://injected", 200, HTTPHeaders(), None), {
            "Events": events,
            "ResponseMetadata": meta,
        }

    trail.meta.events.register_first("before-call.cloudtrail.LookupEvents", answer, unique_id="trail")
    try:
        bundle = snapshot(onset)
    finally:
        trail.meta.events.unregister("before-call.cloudtrail.LookupEvents", answer, unique_id="trail")
    [change] = [c for c in bundle.changes if c.kind == "cloudtrail"]
    assert change.write is not None
    assert (change.write.caller, change.write.request_id, change.write.user_agent) == (
        person["arn"], "req-UpdateService", "aws-cli/2.15",
    )  # fmt: skip
