"""Dependency source of a snapshot: the health of what the service calls, in one region.

The catalog names each dependency's health metric and/or alarm (``dependencies:``); both are
read in every region of the service, since a database or a third-party API is usually reached
per region. An alarm that does not exist in a region is absent (``alarm_state`` None), a metric
without datapoints is unknown (``metric_healthy`` None): neither reads as healthy or unhealthy.
"""

from __future__ import annotations

from tasks.aws import AwsTarget
from tasks.catalog import Dependency
from tasks.evidence import DependencyHealth
from tasks.metrics import SignalHealth, alarm_states, read_metrics, signal_health
from tasks.snapshot_sources import Found, Window


def dependency_source(dependencies: dict[str, Dependency], aws: AwsTarget, window: Window) -> Found:
    """Each dependency's latest metric value and alarm state, in one call of each kind."""
    # Keyed by the dependency's name: two dependencies' metrics may share a short name.
    specs = {
        name: d.metric.model_copy(update={"name": name})
        for name, d in dependencies.items()
        if d.metric is not None
    }
    series = read_metrics(list(specs.values()), aws=aws, start=window.start, end=window.end)
    alarms = [d.alarm for d in dependencies.values() if d.alarm is not None]
    states = alarm_states(alarms, aws=aws) if alarms else {}
    found = {}
    for name, dependency in dependencies.items():
        spec = specs.get(name)
        points = series.get(spec.name, []) if spec else []
        value = points[-1].value if points else None
        health = signal_health(spec, value) if spec else SignalHealth.NO_DATA
        found[name] = DependencyHealth(
            metric_value=value,
            metric_healthy=None if health is SignalHealth.NO_DATA else health is SignalHealth.HEALTHY,
            alarm_state=states.get(dependency.alarm) if dependency.alarm else None,
        )
    return Found(dependencies=found)
