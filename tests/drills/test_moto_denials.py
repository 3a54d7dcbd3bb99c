"""A drill's deny fault: the sandbox itself refuses an action to Firebreak, as AWS does
(AccessDenied, HTTP 403, naming the action), and nobody else; a reset forgets it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from drills import moto_denials
from drills.sandbox import Sandbox
from tasks.aws import AwsTarget, client

QUERY: dict[str, Any] = {
    "MetricDataQueries": [
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {"Namespace": "Checkout", "MetricName": "ErrorRate"},
                "Period": 60,
                "Stat": "Average",
            },
        }
    ],
}


@pytest.fixture
def sandbox_only() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def _window() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=5), "EndTime": now}


def test_a_denied_action_is_refused_to_firebreak_alone_as_aws_refuses_it(sandbox_only: Sandbox) -> None:
    target = AwsTarget(region="eu-west-1", endpoint_url=sandbox_only.endpoint_url)
    firebreak = client("cloudwatch", target)
    firebreak.get_metric_data(**QUERY, **_window())  # allowed before

    moto_denials.deny("cloudwatch:GetMetricData")

    with pytest.raises(ClientError) as refused:
        firebreak.get_metric_data(**QUERY, **_window())
    error = refused.value.response
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "is not authorized to perform: cloudwatch:GetMetricData" in error["Error"]["Message"]
    # Another action is still allowed (what it lists depends on what other tests left in moto).
    assert firebreak.list_metrics()["ResponseMetadata"]["HTTPStatusCode"] == 200
    other: Any = boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=sandbox_only.endpoint_url)
    assert other.get_metric_data(**QUERY, **_window())["MetricDataResults"]  # another caller too

    sandbox_only.reset()
    assert moto_denials.denied_actions() == set()
    firebreak.get_metric_data(**QUERY, **_window())
