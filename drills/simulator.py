"""The simulator: makes checkout's telemetry follow whatever production currently looks like.

Each tick observes the sandbox, computes health (``drills.health``) and publishes it: metric
datapoints, log lines and alarm states. Because it re-reads AWS every tick, any change a flow
makes (a rollback, a traffic shift, a flag) shows in the metrics on the next tick, and only a
change that removes the cause makes them recover. Faults outside AWS (a degraded region, a
dependency down) are held here and can be changed while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict

from drills import seed_names as n
from drills.clock import DrillClock
from drills.health import SandboxState, ServiceHealth, SimulatorFaults, compute_health
from drills.observe import observe
from drills.telemetry import (
    log_lines,
    metric_values,
    publish_metrics,
    publish_user_error_rate,
    sync_alarms,
    write_logs,
)
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, CatalogError

__all__ = ["DrillClock", "Simulator", "SimulatorError", "TickLoop", "TickRecord", "observe"]

logger = logging.getLogger(__name__)


class SimulatorError(RuntimeError):
    """The simulator was asked for something it cannot do (unknown region, started twice)."""


class TickRecord(BaseModel):
    """One tick: what was observed, what health it implied, and the alarm states set."""

    model_config = ConfigDict(frozen=True)

    tick: int
    at: AwareDatetime
    drill_elapsed: timedelta
    faults: SimulatorFaults
    state: SandboxState
    health: ServiceHealth
    alarms: dict[str, str]


class TickLoop:
    """Calls ``tick()`` every ``tick_seconds`` in a daemon thread between start() and stop().

    A failing tick is logged and counted in ``failed_ticks``, never fatal: the loop is the
    outermost level of the simulator thread.
    """

    tick_seconds: float = 1.0
    failed_ticks: int = 0
    _thread: threading.Thread | None = None

    def tick(self) -> object:
        raise NotImplementedError

    def start(self) -> Self:
        """Tick in a background thread until stop()."""
        if self._thread is not None:
            raise SimulatorError("the simulator is already running")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="firebreak-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking and wait for the current tick to finish. Idempotent."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # the loop is the outermost level: log, count, keep ticking
                self.failed_ticks += 1
                logger.exception("simulator tick failed")
            self._stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))


class Simulator(TickLoop):
    """Publishes checkout's telemetry every ``tick_seconds`` from a background thread.

    >>> with Simulator(catalog, sandbox.endpoint_url) as sim:
    ...     sim.degrade_region("eu-west-1")      # errors rise there on the next tick
    """

    def __init__(
        self,
        catalog: Catalog,
        endpoint_url: str,
        clock: DrillClock | None = None,
        faults: SimulatorFaults | None = None,
        *,
        tick_seconds: float = 1.0,
        keep_ticks: int = 3600,
    ) -> None:
        self.catalog = catalog
        self.clock = clock or DrillClock()
        self.tick_seconds = tick_seconds
        self._entry = catalog.entry(n.SERVICE, n.ENVIRONMENT)
        self._endpoint_url = endpoint_url
        self._faults = faults or SimulatorFaults()
        self._history: deque[TickRecord] = deque(maxlen=keep_ticks)
        self._ticks = 0
        self.failed_ticks = 0
        self._lock = threading.Lock()  # guards faults and history
        self._tick_lock = threading.Lock()  # one tick at a time, manual or background

    @property
    def faults(self) -> SimulatorFaults:
        with self._lock:
            return self._faults

    def degrade_region(self, region: str) -> None:
        """From the next tick, ``region`` fails ~40 % of the requests it receives."""
        self._check_region(region)
        with self._lock:
            degraded = self._faults.region_degraded | {region}
            self._faults = self._faults.model_copy(update={"region_degraded": degraded})

    def heal_region(self, region: str) -> None:
        self._check_region(region)
        with self._lock:
            degraded = self._faults.region_degraded - {region}
            self._faults = self._faults.model_copy(update={"region_degraded": degraded})

    def silence_region(self, region: str) -> None:
        """From the next tick, ``region``'s service is down hard: no metric datapoints at all."""
        self._check_region(region)
        with self._lock:
            silent = self._faults.region_silent | {region}
            self._faults = self._faults.model_copy(update={"region_silent": silent})

    def set_dependency_down(self, down: bool) -> None:
        """A shared dependency (payments) fails: ~30 % errors everywhere until it is back."""
        with self._lock:
            self._faults = self._faults.model_copy(update={"dependency_down": down})

    @property
    def history(self) -> list[TickRecord]:
        with self._lock:
            return list(self._history)

    def tick(self) -> TickRecord:
        """Observe, compute health, publish metrics, logs and alarm states; the record of it."""
        with self._tick_lock:
            faults = self.faults
            state = observe(self.catalog, self._endpoint_url)
            health = compute_health(state, faults, tick=self._ticks)
            at = datetime.now(UTC)
            alarms: dict[str, str] = {}
            for region, region_health in health.regions.items():
                target = AwsTarget(region=region, endpoint_url=self._endpoint_url)
                if region not in faults.region_silent:
                    publish_metrics(target, region_health, at)
                revision = f"{n.TASK_FAMILY}:{state.regions[region].ecs_revision}"
                write_logs(target, log_lines(region, region_health, revision), at)
                values = metric_values(region_health)
                alarms |= sync_alarms(target, self._entry.region(region).alarms, values)
            primary = AwsTarget(region=self._entry.primary_region, endpoint_url=self._endpoint_url)
            publish_user_error_rate(primary, health, at)
            record = TickRecord(
                tick=self._ticks,
                at=at,
                drill_elapsed=self.clock.elapsed(at),
                faults=faults,
                state=state,
                health=health,
                alarms=alarms,
            )
            self._ticks += 1
        with self._lock:
            self._history.append(record)
        return record

    def _check_region(self, region: str) -> None:
        try:
            self._entry.region(region)
        except CatalogError as e:
            raise SimulatorError(f"cannot change region {region!r}: {e}") from e
