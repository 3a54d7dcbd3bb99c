"""Publish a world tick: datapoints batched per region and namespace, alarms evaluated from
the datapoints (one period late, as CloudWatch data lags), log lines per service.

Which health value a catalog metric gets: its traffic metric (``role: traffic``) the request
rate, a metric whose name mentions latency the p99, one whose name mentions CPU, memory,
utilization or saturation the region's CPU, any other signal the error rate. A region without
requests publishes nothing for the service. A dependency's health metric is published in every
region of the service, whatever its traffic (it is the dependency's own): on its unhealthy side
while the dependency is down. Log lines name a failing dependency by its catalog
``log_patterns`` (else its name), and say when its breaker serves the degraded answer.
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
from tasks.catalog import Comparison, Dependency, MetricRole, MetricSpec, ServiceEnvironment

MAX_DATA_PER_PUT = 1000  # PutMetricData's limit on MetricData entries
LOG_LINES = 10
WORLD_ERRORS = {
    **ERROR_MESSAGES,
    "bad_launch_template": "ERROR host boot failed: /etc/app/config.yaml missing (launch template)",
    "saturated": "ERROR 503 queue full: request rejected (saturated)",
}
SATURATION_WORDS = ("cpu", "memory", "utilization", "saturation")
SeriesKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # region, namespace, metric, dimensions


def series_key(region: str, spec: MetricSpec) -> SeriesKey:
    return region, spec.namespace, spec.metric_name, tuple(spec.dimensions.items())  # as published


def metric_value(spec: MetricSpec, health: RegionHealth) -> float | None:
    """The value ``spec`` gets from ``health``; None for a region without requests."""
    if health.requests_per_min == 0:
        return None
    if spec.role is MetricRole.TRAFFIC:
        return health.requests_per_min
    named = f"{spec.name} {spec.metric_name}".lower()
    if "latency" in named:
        return health.latency_p99_ms
    if any(word in named for word in SATURATION_WORDS):
        return health.saturation_percent
    return health.error_rate


def dependency_value(spec: MetricSpec, *, down: bool) -> float:
    """A dependency's health metric: well inside its healthy side, or beyond its threshold."""
    threshold = spec.healthy_threshold
    if spec.healthy_when is Comparison.BELOW:
        healthy, unhealthy = 0.1 * threshold, max(10.0 * threshold, 100.0)
    else:
        healthy, unhealthy = threshold + max(1.0, 0.01 * abs(threshold)), min(0.0, threshold - 1.0)
    return unhealthy if down else healthy


def service_datapoints(entry: ServiceEnvironment, health: ServiceHealth) -> dict[SeriesKey, float | None]:
    """Every catalogued series of the service and its value this tick (pure)."""
    values: dict[SeriesKey, float | None] = {}
    for region, res in entry.regions.items():
        for spec in res.metrics:
            values[series_key(region, spec)] = metric_value(spec, health.regions[region])
    for name, dependency in entry.dependencies.items():
        if dependency.metric is not None:
            value = dependency_value(dependency.metric, down=name in health.dependencies_down)
            values |= {series_key(region, dependency.metric): value for region in entry.regions}
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
        failing = [c for c in h.causes if c != "degraded_mode"]
        messages = [m for c in failing for m in _messages(c, region, entry.dependencies, health)] or [
            "ERROR transient upstream reset"
        ]
        lines = [messages[i % len(messages)] for i in range(errors)]
        if "degraded_mode" in h.causes:
            lines += _messages("degraded_mode", region, entry.dependencies, health)
        lines += [f"INFO 200 {round(h.latency_p99_ms or 0.0)}ms"] * max(0, LOG_LINES - len(lines))
        millis = int(at.timestamp() * 1000)
        call(
            client("logs", sandbox.in_region(region)), "put_log_events", logGroupName=res.log_groups[0],
            logStreamName=LOG_STREAM, logEvents=[{"timestamp": millis, "message": line} for line in lines],
        )  # fmt: skip


def _messages(
    cause: str, region: str, dependencies: dict[str, Dependency], health: ServiceHealth
) -> list[str]:
    """The log messages of one cause: a dependency's name it by the catalog's log patterns."""
    if cause == "dependency_down":
        return [
            f"ERROR call to {_pattern(name, dependencies)} failed: timed out after 3000ms ({name} down)"
            for name in health.dependencies_down
            if name not in health.breakers_open
        ]
    if cause == "degraded_mode":
        return [
            f"WARN breaker open for {_pattern(name, dependencies)}: serving the degraded answer"
            for name in health.dependencies_down
            if name in health.breakers_open
        ]
    return [WORLD_ERRORS[cause].format(region=region)]


def _pattern(name: str, dependencies: dict[str, Dependency]) -> str:
    dependency = dependencies.get(name)
    return dependency.log_patterns[0] if dependency and dependency.log_patterns else name
