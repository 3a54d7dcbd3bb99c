from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from uvicorn.config import LOGGING_CONFIG

from alerts.errors import PrefectUnavailableError
from alerts.models import Alert, AlertStatus
from alerts.prefect_starter import PrefectStarter
from alerts.recent_runs import RecentRuns
from alerts.starter import StartedRun
from firebreak.commands.alerts import serve_log_config, serve_starter
from tests.alerts.fakes import FakeStarter, settings

WAIT = 10.0  # generous bound for a thread to reach a point; never reached when the code is right


def alert(fingerprint: str = "fp-a", status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(
        source="generic",
        fingerprint=fingerprint,
        status=status,
        name="HighErrorRate",
        starts_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    )


class Clock:
    """A settable clock that counts its readings, so a test can wait for threads to reach it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.readings = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self.readings += 1
            self._changed.notify_all()
            return self.now

    def wait_for_readings(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.readings >= count, timeout=WAIT)


class GatedStarter(FakeStarter):
    """A FakeStarter whose ``start`` of ``gated_key`` waits for ``release`` (like a slow Prefect)."""

    def __init__(self, gated_key: str) -> None:
        super().__init__()
        self.gated_key = gated_key
        self.entered = threading.Event()
        self.release = threading.Event()
        self._calls = threading.Lock()

    def start(self, alert: Alert) -> StartedRun:
        if alert.dedup_key == self.gated_key:
            self.entered.set()
            assert self.release.wait(WAIT)
        with self._calls:
            return super().start(alert)


def test_duplicate_is_answered_from_memory() -> None:
    inner = FakeStarter()
    recent = RecentRuns(inner)
    first = recent.start(alert())
    second = recent.start(alert())
    assert inner.start_calls == [alert().dedup_key]
    assert first.created and not second.created
    assert second == StartedRun(flow_run_id=first.flow_run_id, created=False, dedup_key=alert().dedup_key)
    stats = recent.stats()
    assert (stats.answered_from_memory, stats.passed_on, stats.remembered) == (1, 1, 1)


def test_concurrent_first_deliveries_make_one_inner_start() -> None:
    threads_count = 50
    inner = GatedStarter(alert().dedup_key)
    clock = Clock()
    recent = RecentRuns(inner, clock=clock)
    barrier = threading.Barrier(threads_count)
    answers: list[StartedRun] = []
    answers_lock = threading.Lock()

    def deliver() -> None:
        barrier.wait(WAIT)
        run = recent.start(alert())
        with answers_lock:
            answers.append(run)

    threads = [threading.Thread(target=deliver) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    assert inner.entered.wait(WAIT)
    # Every thread has looked in memory and missed (one clock reading each) before the slow
    # start is released, so without single-flight each of them would call inner.start.
    clock.wait_for_readings(threads_count + 1)  # plus the holder's second look, under the lock
    inner.release.set()
    for thread in threads:
        thread.join(WAIT)
    assert inner.start_calls == [alert().dedup_key]
    assert len(answers) == threads_count
    assert {a.flow_run_id for a in answers} == {"run-1"}
    assert sum(a.created for a in answers) == 1
    assert recent.stats().answered_from_memory == threads_count - 1


def test_a_slow_key_does_not_block_other_keys() -> None:
    inner = GatedStarter(alert("slow").dedup_key)
    recent = RecentRuns(inner)
    slow = threading.Thread(target=recent.start, args=(alert("slow"),))
    slow.start()
    assert inner.entered.wait(WAIT)
    other_done = threading.Event()

    def other() -> None:
        recent.start(alert("fast"))
        other_done.set()

    threading.Thread(target=other).start()
    try:
        assert other_done.wait(WAIT), "a start of another key waited for the slow key"
        assert slow.is_alive()
        assert inner.start_calls == [alert("fast").dedup_key]
    finally:
        inner.release.set()
        slow.join(WAIT)
    assert inner.start_calls == [alert("fast").dedup_key, alert("slow").dedup_key]


def test_errors_are_not_remembered() -> None:
    inner = FakeStarter(down=True)
    recent = RecentRuns(inner)
    with pytest.raises(PrefectUnavailableError):
        recent.start(alert())
    inner.down = False
    run = recent.start(alert())
    assert run.created
    assert inner.start_calls == [alert().dedup_key, alert().dedup_key]
    assert recent.stats().remembered == 1


def test_ttl_expiry_asks_again() -> None:
    inner = FakeStarter()
    clock = Clock()
    recent = RecentRuns(inner, ttl_seconds=900, clock=clock)
    recent.start(alert())
    clock.now += 899.9
    assert not recent.start(alert()).created
    assert len(inner.start_calls) == 1
    clock.now += 0.1
    again = recent.start(alert())
    assert len(inner.start_calls) == 2
    assert again.flow_run_id == "run-1" and not again.created  # the inner's own answer
    clock.now += 899.9
    recent.start(alert())
    assert len(inner.start_calls) == 2  # expiry restarted with the fresh answer


def test_least_recently_used_key_is_evicted_at_the_bound() -> None:
    inner = FakeStarter()
    recent = RecentRuns(inner, max_keys=2)
    for fingerprint in ("a", "b", "a", "c"):  # "a" used again, so "b" is the oldest when "c" comes
        recent.start(alert(fingerprint))
    assert [k.split(":")[0] for k in inner.start_calls] == ["a", "b", "c"]
    recent.start(alert("b"))  # evicted: asked again, which evicts "a"
    recent.start(alert("c"))  # still remembered
    assert [k.split(":")[0] for k in inner.start_calls] == ["a", "b", "c", "b"]
    assert recent.stats().remembered == 2


def test_resolution_passes_through_and_keeps_the_run() -> None:
    inner = FakeStarter()
    recent = RecentRuns(inner)
    recent.start(alert())
    recent.record_resolved(alert(status=AlertStatus.RESOLVED))
    assert [a.fingerprint for a in inner.resolved] == ["fp-a"]
    assert not recent.start(alert()).created
    assert len(inner.start_calls) == 1


def test_resolution_errors_propagate() -> None:
    with pytest.raises(PrefectUnavailableError):
        RecentRuns(FakeStarter(down=True)).record_resolved(alert(status=AlertStatus.RESOLVED))


@pytest.mark.parametrize(("max_keys", "ttl"), [(0, 900.0), (10, 0.0)])
def test_bounds_must_be_positive(max_keys: int, ttl: float) -> None:
    with pytest.raises(ValueError, match="max_keys"):
        RecentRuns(FakeStarter(), max_keys=max_keys, ttl_seconds=ttl)


def test_serve_remembers_recent_runs_by_default(tmp_path: Path) -> None:
    starter = serve_starter(settings(tmp_path))
    assert isinstance(starter, RecentRuns)


@pytest.mark.parametrize("disabled", [{"recent_runs_max": 0}, {"recent_runs_ttl_seconds": 0}])
def test_serve_asks_prefect_every_time_when_disabled(tmp_path: Path, disabled: dict[str, object]) -> None:
    starter = serve_starter(settings(tmp_path, **disabled))
    assert isinstance(starter, PrefectStarter)
    starter.close()


def test_serve_logs_run_starts() -> None:
    config = serve_log_config()
    assert config["loggers"]["alerts"]["level"] == "INFO"
    assert "alerts" not in LOGGING_CONFIG["loggers"]  # uvicorn's own default is left alone


class JoiningStarter(FakeStarter):
    """Every start joins one open run, as PrefectStarter answers for a service's second alarm."""

    def start(self, alert: Alert) -> StartedRun:
        self.start_calls.append(alert.dedup_key)
        return StartedRun(flow_run_id="open-run", created=False, joined=True, dedup_key=alert.dedup_key)


def test_a_joined_answer_is_remembered_as_joined() -> None:
    inner = JoiningStarter()
    recent = RecentRuns(inner)
    first = recent.start(alert("fp-latency"))
    assert recent.start(alert("fp-latency")) == first
    assert first.joined and inner.start_calls == [alert("fp-latency").dedup_key]
