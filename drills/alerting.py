"""The alerts a drill sends: what the seeded CloudWatch alarms would send, once they fire.

:func:`alarm_alert` is the alert of any catalog alarm (the drill runner sends each broken
service's, drills/world/drill.py); :func:`drill_alert` is the alert region's alarm of the fixed
checkout sandbox (``drills.seed``) the flow and end-to-end tests use; a ``refire`` sends the
first again with a new onset (:func:`refired`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from alerts.models import Alert, MetricRef
from drills import seed_names as n
from drills.sandbox import Sandbox
from drills.scenario import Scenario
from tasks.catalog import Catalog, MetricSpec
from tasks.metrics import alarm_states


def wait_for_alarm(
    catalog: Catalog,
    sandbox: Sandbox,
    region: str,
    timeout: float = 30,
    *,
    every: bool = False,
    service: str = n.SERVICE,
    environment: str = n.ENVIRONMENT,
) -> datetime:
    """Wait until one of the service's alarms in ``region`` fires (``every``: all of them); when."""
    names = catalog.entry(service, environment).region(region).alarms
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = alarm_states(names, aws=sandbox.target(region)).values()
        firing = [s == "ALARM" for s in states]
        if firing and (all(firing) if every else any(firing)):
            return datetime.now(UTC)
        time.sleep(0.5)
    which = "all of" if every else "any of"
    raise TimeoutError(f"{which} alarms {names} in {region} did not fire within {timeout}s")


def alarm_metric(catalog: Catalog, region: str, alarm: str) -> MetricSpec:
    """The catalog metric the seeded alarm ``alarm`` watches (named after it), else the first."""
    metrics = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).metrics
    return next((m for m in metrics if n.alarm_name(region, m.metric_name) == alarm), metrics[0])


def drill_alert(scenario: Scenario, catalog: Catalog, onset: datetime, *, alarm_index: int = 0) -> Alert:
    """The alert the alert region's ``alarm_index``-th alarm would send, normalised (as the
    receiver would)."""
    region = scenario.alert_region
    alarm = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).alarms[alarm_index]
    spec = alarm_metric(catalog, region, alarm)
    return alarm_alert(scenario, n.SERVICE, n.ENVIRONMENT, region, alarm, spec, onset)


def alarm_alert(
    scenario: Scenario,
    service: str,
    environment: str,
    region: str,
    alarm: str,
    spec: MetricSpec,
    onset: datetime,
) -> Alert:
    """The alert ``alarm`` (watching ``spec``) of ``service`` sends when it fires at ``onset``."""
    return Alert(
        source="drill",
        fingerprint=f"drill:{scenario.name}:{alarm}",
        service=service,
        environment=environment,
        region=region,
        name=alarm,
        summary=scenario.title,
        metric=MetricRef(
            namespace=spec.namespace,
            name=spec.metric_name,
            dimensions=spec.dimensions,
            threshold=spec.healthy_threshold,
        ),
        labels={"drill": scenario.name},
        starts_at=onset,
    )


def refired(alert: Alert) -> Alert:
    """The same alarm's alert again, firing anew now (a new onset, so a new dedup key)."""
    return alert.model_copy(update={"starts_at": datetime.now(UTC)})
