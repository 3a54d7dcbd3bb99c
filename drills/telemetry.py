"""Publish computed health as the telemetry production would emit: metrics, logs, alarm states.

Metrics are high-resolution (StorageResolution=1) datapoints stamped with the real wall time,
one per tick, so a reader using the catalog's 1-second period sees the latest tick as the
newest datapoint. A region that served no requests publishes no datapoint at all, as real
CloudWatch has none for it (not 0 %). moto never evaluates alarms, so their state is set here
from the same values, and an alarm whose metric has no datapoint follows its TreatMissingData.
"""

from __future__ import annotations

from datetime import datetime

from drills import seed_names as n
from drills.health import RegionHealth, ServiceHealth
from tasks.aws import AwsTarget, call, client

LINES_PER_TICK = 20
ERROR_MESSAGES = {
    "bad_deploy": "ERROR POST /checkout 500 TypeError: cart.total is undefined (serializer v2)",
    "bad_lambda": "ERROR POST /checkout 502 pricing lambda returned invalid price -1",
    "bad_flag": "ERROR POST /checkout 500 PricingEngineV2 timed out after 900 ms",
    "region_degraded": "ERROR POST /checkout 503 connection timeout to dynamodb in {region}",
    "dependency_down": "ERROR POST /checkout 502 payments-gateway unavailable (HTTP 503)",
    "alb_no_targets": "ERROR upstream 503 from load balancer: no healthy targets",
}
BASELINE_ERROR = "ERROR POST /checkout 500 card declined handling failed (retryable)"


def metric_values(health: RegionHealth) -> dict[str, float]:
    """metric name -> value for one region's datapoints; empty for a region without requests.

    Real CloudWatch publishes nothing for a region nobody is routed to: no error rate and no
    latency (nothing to measure), and no request count either (no request, no datapoint).
    """
    if health.requests_per_min == 0 or health.error_rate is None or health.latency_p99_ms is None:
        return {}
    return {
        n.ERROR_RATE: health.error_rate,
        n.LATENCY_P99: health.latency_p99_ms,
        n.REQUESTS: health.requests_per_min,
    }


def publish_metrics(target: AwsTarget, health: RegionHealth, at: datetime) -> None:
    """One datapoint per key metric into ``target.region``'s CloudWatch, dimension Region;
    nothing for a region without requests."""
    units = {n.ERROR_RATE: "Percent", n.LATENCY_P99: "Milliseconds", n.REQUESTS: "Count"}
    dims = [{"Name": n.REGION_DIMENSION, "Value": target.region}]
    data = [
        {
            "MetricName": name,
            "Dimensions": dims,
            "Value": value,
            "Unit": units[name],
            "Timestamp": at,
            "StorageResolution": 1,
        }
        for name, value in metric_values(health).items()
    ]
    if not data:
        return
    call(client("cloudwatch", target), "put_metric_data", Namespace=n.NAMESPACE, MetricData=data)


def publish_user_error_rate(target: AwsTarget, health: ServiceHealth, at: datetime) -> None:
    """The error rate users see across regions, dimension Service (one series for the service)."""
    datum = {
        "MetricName": n.ERROR_RATE,
        "Dimensions": [{"Name": n.SERVICE_DIMENSION, "Value": n.SERVICE}],
        "Value": round(health.user_error_rate, 3),
        "Unit": "Percent",
        "Timestamp": at,
        "StorageResolution": 1,
    }
    call(client("cloudwatch", target), "put_metric_data", Namespace=n.NAMESPACE, MetricData=[datum])


def log_lines(region: str, health: RegionHealth, revision: str) -> list[str]:
    """The tick's application log: ERROR lines in proportion to the error rate, the rest INFO.

    A region without traffic logs nothing. Error lines name their cause the way real stack
    traces would, round-robin over the active causes.
    """
    if health.requests_per_min == 0:
        return []
    errors = round(LINES_PER_TICK * (health.error_rate or 0.0) / 100.0)
    messages = [ERROR_MESSAGES[c].format(region=region) for c in health.causes] or [BASELINE_ERROR]
    lines = [f"{messages[i % len(messages)]} revision={revision}" for i in range(errors)]
    latency = round(health.latency_p99_ms or 0.0)
    lines += [f"INFO POST /checkout 200 {latency}ms revision={revision}"] * (LINES_PER_TICK - errors)
    return lines


def write_logs(target: AwsTarget, lines: list[str], at: datetime) -> None:
    """Append ``lines`` to the checkout log stream of ``target.region``."""
    if not lines:
        return
    millis = int(at.timestamp() * 1000)
    events = [{"timestamp": millis, "message": line} for line in lines]
    call(
        client("logs", target),
        "put_log_events",
        logGroupName=n.LOG_GROUP,
        logStreamName=n.LOG_STREAM,
        logEvents=events,
    )


def sync_alarms(target: AwsTarget, alarm_names: list[str], values: dict[str, float]) -> dict[str, str]:
    """Set each alarm to ALARM or OK from its metric's value, or, when ``values`` has no
    datapoint for its metric, to what its TreatMissingData gives; returns alarm name -> state.

    Only alarms whose state changes are set, as CloudWatch itself only records transitions.
    """
    if not alarm_names:
        return {}
    cloudwatch = client("cloudwatch", target)
    alarms = call(cloudwatch, "describe_alarms", AlarmNames=alarm_names)["MetricAlarms"]
    states: dict[str, str] = {}
    for alarm in alarms:
        value = values.get(alarm["MetricName"])
        if value is None:
            treat = alarm.get("TreatMissingData") or "missing"
            state = missing_data_state(treat, alarm["StateValue"])
            reason = f"no datapoints for {alarm['MetricName']} (TreatMissingData={treat}; simulator)"
        else:
            state = alarm_state(value, alarm["Threshold"], alarm["ComparisonOperator"])
            reason = f"{alarm['MetricName']}={value:g} vs threshold {alarm['Threshold']:g} (simulator)"
        if state != alarm["StateValue"]:
            call(
                cloudwatch,
                "set_alarm_state",
                AlarmName=alarm["AlarmName"],
                StateValue=state,
                StateReason=reason,
            )
        states[alarm["AlarmName"]] = state
    return states


def alarm_state(value: float, threshold: float, operator: str) -> str:
    """ALARM when ``value`` breaches ``threshold`` under CloudWatch's ``operator``, else OK."""
    breaches = {
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "GreaterThanThreshold": value > threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }
    if operator not in breaches:
        raise ValueError(f"unsupported ComparisonOperator {operator!r}")
    return "ALARM" if breaches[operator] else "OK"


def missing_data_state(treat_missing_data: str, current: str) -> str:
    """The state CloudWatch gives an alarm whose evaluation periods all lack data.

    ``missing`` (the default, and the seeded alarms') -> INSUFFICIENT_DATA; ``notBreaching``
    -> OK; ``breaching`` -> ALARM; ``ignore`` keeps the current state.
    """
    states = {"missing": "INSUFFICIENT_DATA", "notBreaching": "OK", "breaching": "ALARM", "ignore": current}
    if treat_missing_data not in states:
        raise ValueError(f"unsupported TreatMissingData {treat_missing_data!r}")
    return states[treat_missing_data]
