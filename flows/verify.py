"""Watching the signal: confirm an alert from a second source, and bake a fix.

Both read the same CloudWatch metric the catalog names for the region, so "confirmed" and
"recovered" mean the same thing the on-call engineer would check on the dashboard.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from alerts.models import Alert
from flows.incident_run import IncidentRun
from tasks.aws import AwsTarget
from tasks.catalog import CatalogError, MetricSpec, ServiceEnvironment
from tasks.metrics import latest_value


class Reading(BaseModel):
    at: datetime
    value: float | None
    healthy: bool


class SignalCheck(BaseModel):
    """The outcome of watching a metric: healthy or not, and every reading taken."""

    metric: str
    region: str
    healthy: bool
    readings: list[Reading] = Field(default_factory=list)

    @property
    def last_value(self) -> float | None:
        return self.readings[-1].value if self.readings else None


def signal_metric(entry: ServiceEnvironment, alert: Alert, region: str) -> MetricSpec:
    """The catalog metric that corresponds to the alert (same namespace and name), else the
    region's first key metric."""
    metrics = entry.region(region).metrics
    if not metrics:
        raise CatalogError(f"region {region!r} has no metrics in the catalog to confirm alerts with")
    if alert.metric is not None:
        for spec in metrics:
            if (spec.namespace, spec.metric_name) == (alert.metric.namespace, alert.metric.name):
                return spec
    return metrics[0]


def _read(spec: MetricSpec, aws: AwsTarget, window: timedelta) -> Reading:
    value = latest_value(spec, aws=aws, window=window)
    # No data is not evidence of health: only a reading on the healthy side counts.
    return Reading(at=datetime.now(UTC), value=value, healthy=value is not None and spec.is_healthy(value))


@task(name="confirm-signal", cache_policy=NO_CACHE)
def confirm_signal(spec: MetricSpec, aws: AwsTarget, window_seconds: int, attempts: int = 3) -> SignalCheck:
    """Confirmed (``healthy=False``) only by a reading that is on the unhealthy side: no data
    confirms nothing. Metrics lag the alarm that fired on them (the newest datapoint may not
    be readable yet), so the metric is re-read up to ``attempts`` times, one period apart."""
    readings: list[Reading] = []
    for attempt in range(attempts):
        if attempt:
            time.sleep(spec.period_seconds)
        reading = _read(spec, aws, timedelta(seconds=window_seconds))
        readings.append(reading)
        if reading.value is not None and not reading.healthy:
            return SignalCheck(metric=spec.name, region=aws.region, healthy=False, readings=readings)
    return SignalCheck(metric=spec.name, region=aws.region, healthy=True, readings=readings)


@task(name="watch-signal", cache_policy=NO_CACHE)
def watch_signal(
    spec: MetricSpec, aws: AwsTarget, *, bake_seconds: int, interval_seconds: float, healthy_checks: int
) -> SignalCheck:
    """Watch the metric for up to ``bake_seconds``; recovered after ``healthy_checks``
    consecutive healthy readings. Stops early either way it is sure."""
    window = timedelta(seconds=max(2 * interval_seconds, spec.period_seconds))
    deadline = time.monotonic() + bake_seconds
    readings: list[Reading] = []
    streak = 0
    while True:
        reading = _read(spec, aws, window)
        readings.append(reading)
        streak = streak + 1 if reading.healthy else 0
        if streak >= healthy_checks:
            return SignalCheck(metric=spec.name, region=aws.region, healthy=True, readings=readings)
        if time.monotonic() + interval_seconds > deadline:
            return SignalCheck(metric=spec.name, region=aws.region, healthy=False, readings=readings)
        time.sleep(interval_seconds)


def bake(run: IncidentRun) -> SignalCheck:
    """Watch the incident's signal with the run's bake settings (after a fix or a recovery step)."""
    s = run.settings
    return watch_signal(
        signal_metric(run.entry, run.alert, run.region),
        run.aws(),
        bake_seconds=s.bake_seconds,
        interval_seconds=s.watch_interval_seconds,
        healthy_checks=s.healthy_checks,
    )
