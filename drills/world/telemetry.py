"""Publish a world tick: datapoints batched per region and namespace, alarms evaluated from
the datapoints (one period late, as CloudWatch data lags), log lines per service.

Which health value a catalog metric gets: its traffic metric (``role: traffic``) the request
rate, a metric whose name mentions latency the p99, any other signal the error rate. A region
without requests publishes nothing for the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from drills.health import RegionHealth, ServiceHealth
from drills.telemetry import ERROR_MESSAGES
from drills.world.alarms import AlarmRule, evaluate
from drills.world.names import LOG_STREAM
from tasks.aws import AwsTarget, call, client
from tasks.catalog import MetricRole, MetricSpec, ServiceEnvironment

MAX_DATA_PER_PUT = 1000  # PutMetricData's limit on MetricData entries
LOG_LINES = 10
WORLD_ERRORS = {
    **ERROR_MESSAGES,
    "bad_launch_template": "ERROR host boot failed: /etc/app/config.yaml missing (launch template)",
    "saturated": "ERROR 503 queue full: request rejected (saturated)",
}
SeriesKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # region, namespace, metric, dimensions


def series_key(region: str, spec: MetricSpec) -> SeriesKey:
    return region, spec.namespace, spec.metric_name, tuple(spec.dimensions.items())  # as published


def metric_value(spec: MetricSpec, health: RegionHealth) -> float | None:
    """The value ``spec`` gets from ``health``; None for a region without requests."""
    if health.requests_per_min == 0:
        return None
    if spec.role is MetricRole.TRAFFIC:
        return health.requests_per_min
    if "latency" in f"{spec.name} {spec.metric_name}".lower():
        return health.latency_p99_ms
    return health.error_rate


def service_datapoints(entry: ServiceEnvironment, health: ServiceHealth) -> dict[SeriesKey, float | None]:
    """Every catalogued series of the service and its value this tick (pure)."""
    values: dict[SeriesKey, float | None] = {}
    for region, res in entry.regions.items():
        for spec in res.metrics:
            values[series_key(region, spec)] = metric_value(spec, health.regions[region])
    metric = entry.service_metric
    if metric is not None:
        served = any(h.requests_per_min > 0 for h in health.regions.values())
        values[series_key(metric.region or entry.primary_region, metric)] = (
            round(health.user_error_rate, 3) if served else None
        )
    return values


def publish(sandbox: AwsTarget, values: dict[SeriesKey, float | None], at: datetime) -> int:
    """One PutMetricData per region and namespace (chunked at 1,000); the number of calls."""
    batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (region, namespace, metric, dims), value in values.items():
        if value is None:
            continue
        batches.setdefault((region, namespace), []).append(
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Value": value,
                "Timestamp": at,
                "StorageResolution": 1,
            }
        )
    calls = 0
    for (region, namespace), data in batches.items():
        cloudwatch = client("cloudwatch", sandbox.in_region(region))
        for start in range(0, len(data), MAX_DATA_PER_PUT):
            call(
                cloudwatch,
                "put_metric_data",
                Namespace=namespace,
                MetricData=data[start : start + MAX_DATA_PER_PUT],
            )
            calls += 1
    return calls


def sync_alarms(
    sandbox: AwsTarget, region: str, names: Iterable[str], history: dict[SeriesKey, list[float | None]]
) -> dict[str, str]:
    """Evaluate the region's alarms on ``history`` (values per series, oldest first, without the
    current period) and set those whose state changes; alarm name -> state."""
    wanted = sorted(set(names))
    cloudwatch = client("cloudwatch", sandbox.in_region(region))
    states: dict[str, str] = {}
    for start in range(0, len(wanted), 100):  # DescribeAlarms takes at most 100 names
        alarms = call(cloudwatch, "describe_alarms", AlarmNames=wanted[start : start + 100])["MetricAlarms"]
        for alarm in alarms:
            dims = tuple((d["Name"], d["Value"]) for d in alarm.get("Dimensions", []))
            series = history.get((region, alarm["Namespace"], alarm["MetricName"], dims), [])
            rule = AlarmRule.from_described(alarm)
            state = evaluate(rule, series, alarm["StateValue"])
            if state != alarm["StateValue"]:
                recent = ", ".join("-" if v is None else f"{v:g}" for v in series[-rule.evaluation_periods :])
                call(
                    cloudwatch, "set_alarm_state", AlarmName=rule.name, StateValue=state,
                    StateReason=f"datapoints [{recent}] vs {rule.operator} {rule.threshold:g} (simulator)",
                )  # fmt: skip
            states[rule.name] = state
    return states


def write_service_logs(
    sandbox: AwsTarget, entry: ServiceEnvironment, health: ServiceHealth, at: datetime
) -> None:
    """A few lines per region into its first log group: ERROR lines in proportion to the error
    rate, naming their cause; nothing without traffic."""
    for region, res in entry.regions.items():
        h = health.regions[region]
        if not res.log_groups or h.requests_per_min == 0:
            continue
        errors = round(LOG_LINES * (h.error_rate or 0.0) / 100.0)
        messages = [WORLD_ERRORS[c].format(region=region) for c in h.causes] or [
            "ERROR transient upstream reset"
        ]
        lines = [messages[i % len(messages)] for i in range(errors)]
        lines += [f"INFO 200 {round(h.latency_p99_ms or 0.0)}ms"] * (LOG_LINES - errors)
        millis = int(at.timestamp() * 1000)
        call(
            client("logs", sandbox.in_region(region)), "put_log_events", logGroupName=res.log_groups[0],
            logStreamName=LOG_STREAM, logEvents=[{"timestamp": millis, "message": line} for line in lines],
        )  # fmt: skip
