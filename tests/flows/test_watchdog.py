"""The watchdog's re-run rule and crash automation, as pure functions (the topology tests run them
against a real server: tests/integration/test_topology.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flows.watchdog import (
    LEFT_FOR_HUMAN_TAG,
    MAX_RERUNS,
    RERUN_OF,
    RERUN_SUFFIX,
    CrashVerdict,
    crash_automation,
    crash_verdict,
    rerun_body,
)

CREATED = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
MAX_OPEN = timedelta(minutes=120)
CRASHED: dict[str, Any] = {
    "id": "0f6b2c1e-0000-4000-8000-000000000001",
    "created": CREATED.isoformat(),
    "idempotency_key": "alert:checkout/prod/error-rate@2026-12-01T20:00:00Z",
    "parameters": {"alert": {"service": "checkout"}, "settings": {"bake_seconds": 20}},
    "tags": ["incident", "checkout", "service:checkout", "env:prod"],
}


def _verdict(run: dict[str, Any], minutes: float = 5) -> CrashVerdict:
    return crash_verdict(run, now=CREATED + timedelta(minutes=minutes), max_open=MAX_OPEN)


def test_a_rerun_keeps_parameters_and_tags_under_the_derived_key_and_names_the_crashed_run() -> None:
    body = rerun_body(CRASHED)

    assert body == {
        "parameters": CRASHED["parameters"],
        "tags": CRASHED["tags"],
        "idempotency_key": CRASHED["idempotency_key"] + RERUN_SUFFIX,
        "context": {RERUN_OF: CRASHED["id"]},
    }


def test_a_run_rerun_max_times_is_left_for_a_person() -> None:
    run = dict(CRASHED)
    for _ in range(MAX_RERUNS):
        assert _verdict(run) is CrashVerdict.RERUN
        run = {**run, "idempotency_key": rerun_body(run)["idempotency_key"]}

    assert _verdict(run) is CrashVerdict.RERUN_ENOUGH


def test_only_a_run_younger_than_max_open_is_rerun() -> None:
    assert _verdict(CRASHED, minutes=119) is CrashVerdict.RERUN
    assert _verdict(CRASHED, minutes=120) is CrashVerdict.TOO_OLD
    assert _verdict({**CRASHED, "tags": [*CRASHED["tags"], LEFT_FOR_HUMAN_TAG]}, minutes=300) is (
        CrashVerdict.LEFT_FOR_HUMAN
    )


def test_a_run_without_a_key_is_rerun_under_its_id() -> None:
    body = rerun_body({**CRASHED, "idempotency_key": None})

    assert body["idempotency_key"] == CRASHED["id"] + RERUN_SUFFIX


def test_the_automation_crashes_runs_whose_heartbeats_stop_and_not_final_ones() -> None:
    automation = crash_automation(75)
    trigger = automation["trigger"]

    assert trigger["posture"] == "Proactive" and trigger["within"] == 75
    assert trigger["after"] == ["prefect.flow-run.heartbeat"]
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Completed"} <= set(trigger["expect"])
    assert automation["actions"] == [
        {"type": "change-flow-run-state", "state": "CRASHED", "message": automation["actions"][0]["message"]}
    ]
