"""The world simulator: every service of a catalog, each with its own traffic, error rate,
latency and saturation, derived every tick from the live AWS state of its own resources.

A tick first lets the world's autoscaler hold each autoscaled ECS service at its scalable
target's minimum (``drills.world.capacity``), then observes every service
(``drills.world.observe``), computes its health
(``drills.world.health``), publishes every datapoint in one PutMetricData per region and
namespace, evaluates the alarms from the datapoints of the periods before this one, and writes
log lines. Faults outside AWS are per service and can change while it runs.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from drills.health import ServiceHealth
from drills.simulator import SimulatorError, TickLoop
from drills.world.capacity import hold_at_minimum
from drills.world.health import service_health
from drills.world.observe import WorldObserver
from drills.world.state import ServiceFaults, ServiceState
from drills.world.telemetry import (
    SeriesKey,
    publish,
    series_key,
    service_datapoints,
    sync_alarms,
    write_service_logs,
)
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, ServiceEnvironment

HISTORY_PERIODS = 10  # datapoints kept per series: more than any alarm's evaluation periods


@dataclass(frozen=True)
class WorldTick:
    tick: int
    at: datetime
    states: dict[str, ServiceState]
    health: dict[str, ServiceHealth]
    alarms: dict[str, str]
    metric_puts: int


class WorldSimulator(TickLoop):
    """Simulates every service of ``catalog`` in ``environment``.

    >>> with WorldSimulator(catalog, sandbox.endpoint_url) as sim:
    ...     sim.degrade("quotes", "eu-central-1", 40.0)
    """

    def __init__(
        self, catalog: Catalog, endpoint_url: str, *, environment: str = "prod", tick_seconds: float = 1.0
    ) -> None:
        self.entries: dict[str, ServiceEnvironment] = {
            service: envs[environment] for service, envs in catalog.services.items() if environment in envs
        }
        if not self.entries:
            raise SimulatorError(f"the catalog has no service in environment {environment!r}")
        self.tick_seconds = tick_seconds
        self._sandbox = AwsTarget(region="us-east-1", endpoint_url=endpoint_url)
        self._observer = WorldObserver(endpoint_url)
        self._faults = {service: ServiceFaults() for service in self.entries}
        self._series: dict[SeriesKey, deque[float | None]] = {}
        self._lock = threading.Lock()
        self._tick_lock = threading.Lock()
        self._ticks = 0
        self.history: deque[WorldTick] = deque(maxlen=600)

    def faults(self, service: str) -> ServiceFaults:
        with self._lock:
            return self._faults[self._known(service)]

    def _update(self, service: str, **changes: object) -> None:
        with self._lock:
            self._faults[self._known(service)] = replace(self._faults[service], **changes)  # type: ignore[arg-type]

    def degrade(self, service: str, region: str, error_rate: float) -> None:
        """``region`` fails ``error_rate`` % of what it receives for ``service``, from the next tick."""
        self._region(service, region)
        self._update(service, degraded={**self.faults(service).degraded, region: error_rate})

    def set_dependency(self, service: str, dependency: str, *, down: bool) -> None:
        current = self.faults(service).dependencies_down
        self._update(service, dependencies_down=current | {dependency} if down else current - {dependency})

    def spike(self, service: str, factor: float, region: str | None = None) -> None:
        """Demand on ``service`` times ``factor`` in ``region`` (every region when None)."""
        regions = (
            [self._region(service, region)] if region else list(self.entries[self._known(service)].regions)
        )
        self._update(service, spikes={**self.faults(service).spikes, **dict.fromkeys(regions, factor)})

    def harm_flag(self, service: str, flag: str) -> None:
        """``flag``'s code path is broken: while it is on, ``service`` fails."""
        self._update(service, harmful_flags=self.faults(service).harmful_flags | {flag})

    def total_outage(self, service: str, region: str) -> None:
        """From the next tick ``service`` in ``region`` answers nothing: every request there
        fails (users routed there see errors) and the region publishes no metric and no log."""
        self._region(service, region)
        faults = self.faults(service)
        self._update(service, degraded={**faults.degraded, region: 100.0}, silent=faults.silent | {region})

    def heal(self, service: str) -> None:
        """Every fault outside AWS of ``service`` is over (what is in AWS stays as it is)."""
        self._update(service, degraded={}, dependencies_down=frozenset(), spikes={}, silent=frozenset())

    def tick(self) -> WorldTick:
        with self._tick_lock:
            at = datetime.now(UTC)
            self._autoscale()
            states = {s: self._observer.service(e) for s, e in self.entries.items()}
            health = {
                s: service_health(states[s], self.faults(s), tick=self._ticks, seed=s) for s in self.entries
            }
            values: dict[SeriesKey, float | None] = {}
            for service, entry in self.entries.items():
                values |= service_datapoints(entry, health[service])
                values |= silenced(entry, self.faults(service).silent)
            # Evaluate on the periods before this one: this period's datapoint is not complete yet.
            alarms: dict[str, str] = {}
            for region, names in self._alarm_names().items():
                past = {key: list(series) for key, series in self._series.items()}
                alarms |= sync_alarms(self._sandbox, region, names, past)
            puts = publish(self._sandbox, values, at)
            for key, value in values.items():
                self._series.setdefault(key, deque(maxlen=HISTORY_PERIODS)).append(value)
            for service, entry in self.entries.items():
                write_service_logs(
                    self._sandbox, entry, unheard(health[service], self.faults(service).silent), at
                )
            record = WorldTick(self._ticks, at, states, health, alarms, puts)
            self._ticks += 1
            self.history.append(record)
            return record

    def _autoscale(self) -> None:
        for entry in self.entries.values():
            for region, res in entry.regions.items():
                if res.ecs is not None and res.capacity is not None:
                    hold_at_minimum(self._sandbox.in_region(region), res.ecs)

    def _alarm_names(self) -> dict[str, list[str]]:
        """region -> the alarms to evaluate there: the services' and their dependencies'."""
        names: dict[str, list[str]] = {}
        for entry in self.entries.values():
            dependency_alarms = [d.alarm for d in entry.dependencies.values() if d.alarm is not None]
            for region, res in entry.regions.items():
                names.setdefault(region, []).extend([*res.alarms, *dependency_alarms])
        return names

    def _known(self, service: str) -> str:
        if service not in self.entries:
            raise SimulatorError(
                f"unknown service {service!r} (simulated: {', '.join(sorted(self.entries))})"
            )
        return service

    def _region(self, service: str, region: str) -> str:
        if region not in self.entries[self._known(service)].regions:
            raise SimulatorError(f"{service} does not run in {region!r}")
        return region


def silenced(entry: ServiceEnvironment, silent: frozenset[str]) -> dict[SeriesKey, float | None]:
    """No datapoint for any of the service's own metrics in a silent region (pure)."""
    return {series_key(region, spec): None for region in silent for spec in entry.regions[region].metrics}


def unheard(health: ServiceHealth, silent: frozenset[str]) -> ServiceHealth:
    """``health`` with no requests logged in a silent region: nothing there writes a log line."""
    if not silent:
        return health
    quiet = {
        region: h.model_copy(update={"requests_per_min": 0.0}) if region in silent else h
        for region, h in health.regions.items()
    }
    return health.model_copy(update={"regions": quiet})
