"""collect_snapshot against a seeded two-region service in moto.

The service is seeded once per module (EC2 and SSM backends are slow to warm up); every test
only reads, and fault hooks are removed when each test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto import mock_aws
from prefect.cache_policies import NO_CACHE

from drills import moto_gaps
from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.catalog import CatalogError
from tasks.evidence import EvidenceBundle, ReleaseSource
from tasks.snapshot import collect_snapshot, take_snapshot
from tests.tasks.snapshot_seed import BAD, ENV, FLAG_PARAM, GOOD, SERVICE, Seeded, seed

AWS = AwsTarget(region=BAD)


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    moto_gaps.install()  # LookupEvents answers "no events", as in the drill sandbox
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield seed()
    clear_client_cache()


@contextlib.contextmanager
def answer(region: str, service: str, operation: str, response: dict[str, Any]) -> Iterator[None]:
    """Short-circuit ``service.operation`` on the snapshot's client with ``response`` (an
    ``{"Error": ...}`` dict makes botocore raise ClientError); other calls still reach moto."""
    status = 403 if "Error" in response else 200
    meta = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://injected", status, HTTPHeaders(), None), response | {
            "ResponseMetadata": meta
        }

    events = client(service, AwsTarget(region=region)).meta.events
    event = f"before-call.{service}.{operation}"
    events.register_first(event, hook, unique_id=f"answer-{id(hook)}")
    try:
        yield
    finally:
        events.unregister(event, hook, unique_id=f"answer-{id(hook)}")


def snapshot(seeded: Seeded, **kwargs: Any) -> EvidenceBundle:
    onset = kwargs.pop("onset", seeded.seeded_at)
    return take_snapshot(
        catalog=seeded.catalog, service=SERVICE, environment=ENV, onset=onset, aws=AWS, **kwargs
    )


def test_metrics_show_the_bad_region(seeded: Seeded) -> None:
    bundle = snapshot(seeded)
    assert [p.value for p in bundle.regions[BAD].metrics["error_rate"]] == [0.4, 0.6, 12.0]
    assert bundle.latest_value(GOOD, "error_rate") == 0.5
    assert bundle.metric_is_healthy(BAD, "error_rate") is False
    assert bundle.metric_is_healthy(GOOD, "latency_p99") is True
    assert bundle.unhealthy_regions() == [BAD]


def test_alarms_logs_and_targets(seeded: Seeded) -> None:
    bundle = snapshot(seeded)
    bad, good = bundle.regions[BAD], bundle.regions[GOOD]
    assert bad.alarms == {f"checkout-5xx-{BAD}": "ALARM"}  # the missing alarm is absent, not "OK"
    assert good.alarms == {f"checkout-5xx-{GOOD}": "OK"}
    assert [line.message for line in bad.log_errors] == [
        "ERROR payment gateway timeout #0",
        "ERROR payment gateway timeout #1",
    ]
    assert good.log_errors == []
    states = {t.target_id: t.state for t in bad.targets}
    assert states == {seeded.running_instance: "healthy", seeded.stopped_instance: "unused"}


def test_deploy_state_and_changes(seeded: Seeded) -> None:
    bundle = snapshot(seeded)
    bad_ecs, good_ecs = bundle.regions[BAD].ecs, bundle.regions[GOOD].ecs
    assert bad_ecs is not None and good_ecs is not None
    assert bad_ecs.task_definition.endswith("/checkout-web:2")
    assert bad_ecs.previous_task_definition is not None
    assert bad_ecs.previous_task_definition.endswith("/checkout-web:1")
    assert (bad_ecs.desired, bad_ecs.running) == (2, 2)
    assert good_ecs.task_definition.endswith("/checkout-web:1") and good_ecs.previous_task_definition is None

    deploys = {c.region: c for c in bundle.changes if c.kind == "ecs.deploy"}
    assert str(deploys[BAD].after).endswith("/checkout-web:2")
    assert str(deploys[BAD].before).endswith("/checkout-web:1")
    source = deploys[BAD].before_source
    assert source is not None and source.source is ReleaseSource.CLOUDTRAIL
    assert str(deploys[GOOD].after).endswith("/checkout-web:1")

    lam = bundle.regions[BAD].lambda_alias
    assert lam is not None and (lam.version, lam.previous_version) == ("2", "1")
    [alias_change] = [c for c in bundle.changes if c.kind == "lambda.alias"]
    assert (alias_change.resource, alias_change.before, alias_change.after) == (
        "checkout-pricing:live",
        "1",
        "2",
    )

    asg = bundle.regions[GOOD].asg
    assert asg is not None
    assert (asg.launch_template, asg.launch_template_version, asg.desired, asg.healthy_in_service) == (
        "checkout-workers",
        "2",
        2,
        2,
    )
    [template_change] = [c for c in bundle.changes if c.kind == "asg.launch_template"]
    # The group was created on version 2 (CloudTrail: CreateAutoScalingGroup): version 1 never
    # ran, so nothing is "before" it, whatever the version numbers say.
    assert (template_change.region, template_change.before, template_change.after) == (GOOD, None, "2")
    assert template_change.write is not None and template_change.write.event_name == "CreateAutoScalingGroup"
    assert template_change.history is None  # a creation, not an unknown past


def test_flag_history_becomes_value_changes(seeded: Seeded) -> None:
    flags = [c for c in snapshot(seeded).changes if c.kind == "flag"]
    assert [(c.resource, c.before, c.after) for c in flags] == [
        (FLAG_PARAM, None, "off"),
        (FLAG_PARAM, "off", "on"),
        (FLAG_PARAM, "on", "off"),  # the repeated "on" is not a change
    ]


def test_changes_outside_the_window_are_left_out(seeded: Seeded) -> None:
    later = seeded.seeded_at + timedelta(hours=2)
    bundle = snapshot(seeded, onset=later, lookback=timedelta(minutes=30), now=later)
    assert bundle.changes == []
    assert bundle.regions[BAD].ecs is not None  # state is still read


DENIED_TRAIL = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized: LookupEvents"}}


def test_a_complete_snapshot_has_no_source_errors(seeded: Seeded) -> None:
    assert snapshot(seeded).source_errors == []


def test_a_failing_cloudtrail_is_a_source_error_not_a_crash(seeded: Seeded) -> None:
    with answer(BAD, "cloudtrail", "LookupEvents", DENIED_TRAIL):
        bundle = snapshot(seeded)
    trail_errors = {e.region: e.error for e in bundle.source_errors if e.source == "cloudtrail"}
    assert set(trail_errors) == {BAD}
    assert "AccessDeniedException" in trail_errors[BAD]
    assert bundle.failed_sources() == {"cloudtrail"}
    assert bundle.regions[BAD].ecs is not None  # the other sources of the region are complete


def test_cloudtrail_events_naming_our_resources_become_changes(seeded: Seeded) -> None:
    at = seeded.seeded_at - timedelta(minutes=4)
    events = [
        {"EventName": "UpdateService", "EventTime": at, "Username": "deployer",
         "Resources": [{"ResourceType": "AWS::ECS::Service",
                        "ResourceName": f"arn:aws:ecs:{BAD}:123456789012:service/checkout/web"}]},
        {"EventName": "PutObject", "EventTime": at, "Username": "batch",
         "Resources": [{"ResourceType": "AWS::S3::Object", "ResourceName": "unrelated-bucket"}]},
    ]  # fmt: skip
    with answer(BAD, "cloudtrail", "LookupEvents", {"Events": events}):
        bundle = snapshot(seeded)
    [trail] = [c for c in bundle.changes if c.kind == "cloudtrail" and c.region == BAD]
    assert (trail.region, trail.summary, trail.at) == (BAD, "UpdateService by deployer", at)
    assert trail.resource.endswith("service/checkout/web")
    assert bundle.source_errors == []


def test_one_denied_source_leaves_the_rest_complete(seeded: Seeded) -> None:
    denied = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized: ecs:DescribeServices"}}
    with answer(BAD, "ecs", "DescribeServices", denied):
        bundle = snapshot(seeded)
    [ecs_error] = [e for e in bundle.source_errors if e.source == "ecs"]
    assert ecs_error.region == BAD and "AccessDeniedException" in ecs_error.error
    assert bundle.regions[BAD].ecs is None
    assert bundle.regions[GOOD].ecs is not None
    assert {c.region for c in bundle.changes if c.kind == "ecs.deploy"} == {GOOD}
    assert bundle.regions[BAD].alarms and bundle.regions[BAD].log_errors and bundle.regions[BAD].targets
    assert [c.kind for c in bundle.changes if c.kind == "lambda.alias"] == ["lambda.alias"]


def test_metric_names_limit_what_is_read(seeded: Seeded) -> None:
    bundle = snapshot(seeded, metric_names=["latency_p99"])
    assert set(bundle.regions[BAD].metrics) == {"latency_p99"}
    with pytest.raises(CatalogError, match="no_such_metric"):
        snapshot(seeded, metric_names=["no_such_metric"])


def test_summary_markdown_is_short_and_names_the_evidence(seeded: Seeded) -> None:
    with answer(BAD, "cloudtrail", "LookupEvents", DENIED_TRAIL):
        text = snapshot(seeded).summary_markdown()
    assert len(text.splitlines()) <= 40
    bad_row = next(line for line in text.splitlines() if line.startswith(f"| {BAD}"))
    assert "error_rate 12 ✗" in bad_row and f"checkout-5xx-{BAD}" in bad_row and "1/2" in bad_row
    assert "checkout-web:2 2/2" in bad_row
    assert f"cloudtrail ({BAD}): " in text and "AccessDeniedException" in text


def test_bundle_round_trips_through_json(seeded: Seeded) -> None:
    bundle = snapshot(seeded)
    assert EvidenceBundle.model_validate_json(bundle.model_dump_json()) == bundle


def test_prefect_task_wraps_the_plain_function() -> None:
    assert collect_snapshot.name == "collect-snapshot"
    assert collect_snapshot.fn is take_snapshot
    assert collect_snapshot.cache_policy is NO_CACHE


def test_naive_onset_is_refused(seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        snapshot(seeded, onset=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    assert snapshot(seeded, onset=datetime.now(UTC)).onset.tzinfo is not None
