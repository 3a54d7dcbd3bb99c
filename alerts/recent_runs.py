"""Answer duplicate deliveries of an alert from memory instead of asking Prefect again.

Senders redeliver: Alertmanager re-sends every ``repeat_interval`` and on every group change, HA
pairs send the same alert twice, SNS retries. Every delivery used to cost one
``create_flow_run`` on the Prefect server, which made an alert storm as slow as Prefect's
database (about 12 deliveries/s on SQLite, see docs/performance.md). :class:`RecentRuns` wraps
another :class:`~alerts.starter.IncidentStarter` and remembers, per ``alert.dedup_key``, the run
it got (started, found or joined), so a duplicate is answered in microseconds with
``created=False`` and the same ``joined``.

The memory is an optimisation, never the source of truth: Prefect is (the runs and their join
inputs, see :mod:`alerts.prefect_starter`). After a restart the memory is empty and Prefect
answers the first delivery of each key again; several receiver replicas each have their own
memory and Prefect still gives them all the same run. A
remembered answer expires after ``ttl_seconds`` (Prefect is asked again, which also notices a
run deleted in the meantime) and at most ``max_keys`` keys are kept, least recently used first
out. Failures are not remembered: the next delivery asks again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pydantic import BaseModel

from alerts.models import Alert
from alerts.starter import IncidentStarter, StartedRun


class RecentRunsStats(BaseModel):
    """How many starts were answered from memory and how many were passed on."""

    answered_from_memory: int
    passed_on: int
    remembered: int


@dataclass
class _Flight:
    """The lock that makes concurrent first deliveries of one key wait for a single start."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class RecentRuns:
    """An IncidentStarter that answers recently started dedup keys without calling ``inner``.

    Thread-safe and single-flight: N concurrent first deliveries of one key make exactly one
    ``inner.start`` call and all get its run; deliveries of other keys are not held up by it.

    >>> starter = RecentRuns(PrefectStarter(api_url), max_keys=10_000, ttl_seconds=900)
    """

    def __init__(
        self,
        inner: IncidentStarter,
        *,
        max_keys: int = 10_000,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1 or ttl_seconds <= 0:
            raise ValueError(f"max_keys must be >= 1 and ttl_seconds > 0, got {max_keys}, {ttl_seconds}")
        self._inner = inner
        self._max_keys = max_keys
        self._ttl = ttl_seconds
        self._clock = clock
        self._guard = threading.Lock()  # guards everything below; held only for O(1) work
        self._runs: OrderedDict[str, tuple[StartedRun, float]] = OrderedDict()  # key -> (run, expiry)
        self._flights: dict[str, _Flight] = {}
        self._hits = 0
        self._misses = 0

    def start(self, alert: Alert) -> StartedRun:
        """The remembered run of ``alert.dedup_key`` (``created=False``), or ``inner.start``'s."""
        key = alert.dedup_key
        remembered = self._recall(key)
        if remembered is not None:
            return remembered
        with self._single_flight(key):
            remembered = self._recall(key)  # another thread may have started it while we waited
            if remembered is not None:
                return remembered
            with self._guard:
                self._misses += 1
            run = self._inner.start(alert)  # raises: nothing remembered, the next delivery retries
            self._remember(run)
            return run

    def record_resolved(self, alert: Alert) -> None:
        """Pass the resolution on; the key stays remembered.

        A resolution does not make the remembered answer wrong: Prefect still maps that
        occurrence (same fingerprint and onset) to the same run after it resolves, so
        a late redelivery of the firing alert must get that run, from memory or from Prefect. A
        re-fire after the resolution has a new onset, hence a new ``dedup_key``, and is asked
        for anyway.
        """
        self._inner.record_resolved(alert)

    def stats(self) -> RecentRunsStats:
        """Counters since start, for the log and benchmarks."""
        with self._guard:
            return RecentRunsStats(
                answered_from_memory=self._hits, passed_on=self._misses, remembered=len(self._runs)
            )

    def _recall(self, key: str) -> StartedRun | None:
        now = self._clock()
        with self._guard:
            entry = self._runs.get(key)
            if entry is not None and entry[1] <= now:
                del self._runs[key]
                entry = None
            if entry is None:
                return None
            self._runs.move_to_end(key)
            self._hits += 1
        return entry[0]

    def _remember(self, run: StartedRun) -> None:
        expires = self._clock() + self._ttl
        remembered = run.model_copy(update={"created": False})
        with self._guard:
            self._runs[run.dedup_key] = (remembered, expires)
            self._runs.move_to_end(run.dedup_key)
            while len(self._runs) > self._max_keys:
                self._runs.popitem(last=False)

    @contextmanager
    def _single_flight(self, key: str) -> Iterator[None]:
        with self._guard:
            flight = self._flights.setdefault(key, _Flight())
            flight.users += 1
        try:
            with flight.lock:
                yield
        finally:
            with self._guard:
                flight.users -= 1
                if flight.users == 0:
                    del self._flights[key]
