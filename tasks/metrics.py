"""Read key metrics and alarm states from CloudWatch.

The incident flow confirms an alert from a second source and watches recovery during bake
time with these, often every few seconds, so they are cheap: one ``GetMetricData`` call reads
every metric of a region at once (MetricStat queries only: moto silently returns nothing for
metric math), and alarms are read by name, 100 per call.

A value is read as healthy, unhealthy or no data (``SignalHealth``). Real CloudWatch publishes
no datapoints for a region without requests, so "no data" is its own answer: it is never
healthy and never unhealthy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import MetricSpec
from tasks.evidence import Datapoint

ALARM_NAMES_PER_CALL = 100  # DescribeAlarms' AlarmNames limit
FAILED_STATUSES = frozenset({"Forbidden", "InternalError"})  # PartialData just means "more pages"


class MetricReadError(RuntimeError):
    """A metric could not be read (CloudWatch reported a failed query)."""


class SignalHealth(StrEnum):
    """What one reading (or a whole check) says about a signal."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NO_DATA = "no_data"


def signal_health(spec: MetricSpec, value: float | None) -> SignalHealth:
    """``value`` against the spec's healthy threshold; None (no datapoints) is NO_DATA."""
    if value is None:
        return SignalHealth.NO_DATA
    return SignalHealth.HEALTHY if spec.is_healthy(value) else SignalHealth.UNHEALTHY


def read_metrics(
    specs: list[MetricSpec], *, aws: AwsTarget, start: datetime, end: datetime
) -> dict[str, list[Datapoint]]:
    """Datapoints of each spec in ``[start, end)``, keyed by ``spec.name``, ascending by time.

    All specs must live in ``aws.region``. A spec with no data maps to an empty list.
    """
    _require_aware(start, end)
    if not specs:
        return {}
    queries = [_query(f"m{i}", spec) for i, spec in enumerate(specs)]
    by_id: dict[str, list[Datapoint]] = {q["Id"]: [] for q in queries}
    cloudwatch = client("cloudwatch", aws)
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = call(cloudwatch, "get_metric_data", **kwargs)
        for result in page["MetricDataResults"]:
            if result.get("StatusCode") in FAILED_STATUSES:
                raise MetricReadError(f"{result['Id']}: {result['StatusCode']} {result.get('Messages')}")
            by_id[result["Id"]] += [
                Datapoint(at=at.astimezone(UTC), value=float(value))
                for at, value in zip(result["Timestamps"], result["Values"], strict=True)
            ]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return {
        spec.name: sorted(by_id[q["Id"]], key=lambda p: p.at) for spec, q in zip(specs, queries, strict=True)
    }


def read_metric(spec: MetricSpec, *, aws: AwsTarget, start: datetime, end: datetime) -> list[Datapoint]:
    """Datapoints of one metric in ``[start, end)``, ascending by time.

    >>> read_metric(spec, aws=AwsTarget(region="eu-west-1"), start=onset - 30 * MINUTE, end=now)
    [Datapoint(at=..., value=0.4), Datapoint(at=..., value=12.0)]
    """
    return read_metrics([spec], aws=aws, start=start, end=end)[spec.name]


def latest_value(
    spec: MetricSpec, *, aws: AwsTarget, window: timedelta, now: datetime | None = None
) -> float | None:
    """The most recent value of ``spec`` within ``window`` before ``now``; None if there is none.

    None means "no data", which a caller checking recovery must treat as "not recovered".
    """
    return latest_values([spec], aws=aws, window=window, now=now)[spec.name]


def latest_values(
    specs: list[MetricSpec], *, aws: AwsTarget, window: timedelta, now: datetime | None = None
) -> dict[str, float | None]:
    """The most recent value of each spec within ``window`` before ``now``, keyed by
    ``spec.name`` (None for no data), in one ``GetMetricData`` call. All specs in ``aws.region``."""
    end = now or datetime.now(UTC)
    series = read_metrics(specs, aws=aws, start=end - window, end=end)
    return {name: points[-1].value if points else None for name, points in series.items()}


def peak_value(
    spec: MetricSpec, *, aws: AwsTarget, window: timedelta, now: datetime | None = None
) -> float | None:
    """The highest value of ``spec`` within ``window`` before ``now``; None if there is none.

    A traffic baseline: right after a shift, most of a window that ends now is from before it.
    """
    end = now or datetime.now(UTC)
    points = read_metric(spec, aws=aws, start=end - window, end=end)
    return max((p.value for p in points), default=None)


def alarm_states(names: list[str], *, aws: AwsTarget) -> dict[str, str]:
    """``{alarm name: OK | ALARM | INSUFFICIENT_DATA}`` for the named alarms in ``aws.region``.

    Names that do not exist are absent from the result, so a caller can tell "not found" from
    "OK". Metric and composite alarms are both read.
    """
    cloudwatch = client("cloudwatch", aws)
    states: dict[str, str] = {}
    unique = list(dict.fromkeys(names))
    for i in range(0, len(unique), ALARM_NAMES_PER_CALL):
        kwargs: dict[str, Any] = {
            "AlarmNames": unique[i : i + ALARM_NAMES_PER_CALL],
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        }
        while True:
            page = call(cloudwatch, "describe_alarms", **kwargs)
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                states[alarm["AlarmName"]] = alarm["StateValue"]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return states


def _query(query_id: str, spec: MetricSpec) -> dict[str, Any]:
    # Catalog order, not sorted: AWS ignores the order but moto's GetMetricData matches on it.
    dimensions = [{"Name": k, "Value": v} for k, v in spec.dimensions.items()]
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": spec.namespace, "MetricName": spec.metric_name, "Dimensions": dimensions},
            "Period": spec.period_seconds,
            "Stat": spec.statistic,
        },
        "ReturnData": True,
    }


def _require_aware(*moments: datetime) -> None:
    if any(m.tzinfo is None for m in moments):
        raise ValueError("start and end must be timezone-aware")
