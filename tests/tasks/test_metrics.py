"""read_metric / latest_value / alarm_states against seeded CloudWatch datapoints in moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.catalog import MetricSpec
from tasks.metrics import (
    SignalHealth,
    alarm_states,
    latest_value,
    latest_values,
    peak_value,
    read_metric,
    read_metrics,
    signal_health,
)

REGION = "eu-west-1"
AWS = AwsTarget(region=REGION)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ERRORS = MetricSpec(
    name="error_rate",
    namespace="Checkout",
    metric_name="5xx",
    dimensions={"Service": "checkout", "Region": REGION},
    statistic="Sum",
    healthy_threshold=5,
)
LATENCY = ERRORS.model_copy(update={"name": "latency", "metric_name": "Latency", "statistic": "Maximum"})


@pytest.fixture(autouse=True)
def cloudwatch() -> Iterator[None]:
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        cw = client("cloudwatch", AwsTarget(region=REGION))
        dims = [{"Name": "Service", "Value": "checkout"}, {"Name": "Region", "Value": REGION}]
        data = [("5xx", 4, 1.0), ("5xx", 4, 2.0), ("5xx", 2, 7.0), ("Latency", 2, 0.3), ("Latency", 2, 0.9)]
        cw.put_metric_data(
            Namespace="Checkout",
            MetricData=[
                {
                    "MetricName": m,
                    "Dimensions": dims,
                    "Timestamp": NOW - timedelta(minutes=ago, seconds=-5),
                    "Value": v,
                }
                for m, ago, v in data
            ],
        )
        # Same metric name, other dimensions: must not leak into the query.
        cw.put_metric_data(
            Namespace="Checkout",
            MetricData=[{"MetricName": "5xx", "Dimensions": dims[:1], "Timestamp": NOW, "Value": 100.0}],
        )
        yield
    clear_client_cache()


def test_read_metric_aggregates_per_period_in_time_order() -> None:
    points = read_metric(ERRORS, aws=AWS, start=NOW - timedelta(minutes=10), end=NOW)
    assert [p.value for p in points] == [3.0, 7.0]  # Sum of the two at -4 min, then -2 min
    assert points[0].at < points[1].at and all(p.at.tzinfo is not None for p in points)


def test_read_metrics_reads_several_specs_in_one_call() -> None:
    both = read_metrics([ERRORS, LATENCY], aws=AWS, start=NOW - timedelta(minutes=10), end=NOW)
    assert [p.value for p in both["latency"]] == [0.9]  # Maximum
    assert [p.value for p in both["error_rate"]] == [3.0, 7.0]


def test_latest_value_and_no_data() -> None:
    assert latest_value(ERRORS, aws=AWS, window=timedelta(minutes=10), now=NOW) == 7.0
    assert latest_value(ERRORS, aws=AWS, window=timedelta(minutes=1), now=NOW) is None
    missing = ERRORS.model_copy(update={"metric_name": "NoSuchMetric"})
    assert latest_value(missing, aws=AWS, window=timedelta(minutes=10), now=NOW) is None


def test_latest_values_reads_each_spec_once_and_no_data_is_none() -> None:
    missing = ERRORS.model_copy(update={"name": "missing", "metric_name": "NoSuchMetric"})
    latest = latest_values([ERRORS, LATENCY, missing], aws=AWS, window=timedelta(minutes=10), now=NOW)
    assert latest == {"error_rate": 7.0, "latency": 0.9, "missing": None}


def test_peak_value_is_the_highest_in_the_window() -> None:
    assert peak_value(ERRORS, aws=AWS, window=timedelta(minutes=10), now=NOW) == 7.0
    assert peak_value(ERRORS, aws=AWS, window=timedelta(minutes=10), now=NOW - timedelta(minutes=3)) == 3.0
    assert peak_value(ERRORS, aws=AWS, window=timedelta(minutes=1), now=NOW) is None


def test_no_data_is_neither_healthy_nor_unhealthy() -> None:
    assert signal_health(ERRORS, None) is SignalHealth.NO_DATA
    assert signal_health(ERRORS, 4.9) is SignalHealth.HEALTHY
    assert signal_health(ERRORS, 5.0) is SignalHealth.UNHEALTHY


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read_metric(ERRORS, aws=AWS, start=datetime(2026, 1, 1), end=NOW)  # noqa: DTZ001


def test_alarm_states_reads_set_states_and_omits_unknown_names() -> None:
    cw = client("cloudwatch", AwsTarget(region=REGION))
    for name in ("checkout-5xx", "checkout-latency"):
        cw.put_metric_alarm(
            AlarmName=name, Namespace="Checkout", MetricName="5xx", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    cw.set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="test")
    cw.set_alarm_state(AlarmName="checkout-latency", StateValue="INSUFFICIENT_DATA", StateReason="test")
    states = alarm_states(["checkout-5xx", "checkout-latency", "nope", "checkout-5xx"], aws=AWS)
    assert states == {"checkout-5xx": "ALARM", "checkout-latency": "INSUFFICIENT_DATA"}
    assert alarm_states([], aws=AWS) == {}
