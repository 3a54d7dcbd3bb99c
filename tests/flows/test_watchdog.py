"""The watchdog's re-run rule and crash automation, as pure functions (the topology tests run them
against a real server: tests/integration/test_topology.py)."""

from __future__ import annotations

from typing import Any

from flows.watchdog import MAX_RERUNS, RERUN_SUFFIX, crash_automation, rerun_body

CRASHED: dict[str, Any] = {
    "id": "0f6b2c1e-0000-4000-8000-000000000001",
    "idempotency_key": "alert:checkout/prod/error-rate@2026-12-01T20:00:00Z",
    "parameters": {"alert": {"service": "checkout"}, "settings": {"bake_seconds": 20}},
    "tags": ["incident", "checkout", "service:checkout", "env:prod"],
}


def test_a_rerun_keeps_parameters_and_tags_under_the_derived_key() -> None:
    body = rerun_body(CRASHED)

    assert body == {
        "parameters": CRASHED["parameters"],
        "tags": CRASHED["tags"],
        "idempotency_key": CRASHED["idempotency_key"] + RERUN_SUFFIX,
    }


def test_a_run_rerun_max_times_is_left_for_a_person() -> None:
    run = dict(CRASHED)
    for _ in range(MAX_RERUNS):
        body = rerun_body(run)
        assert body is not None
        run = {**run, "idempotency_key": body["idempotency_key"]}

    assert rerun_body(run) is None


def test_a_run_without_a_key_is_rerun_under_its_id() -> None:
    body = rerun_body({**CRASHED, "idempotency_key": None})

    assert body is not None and body["idempotency_key"] == CRASHED["id"] + RERUN_SUFFIX


def test_the_automation_crashes_runs_whose_heartbeats_stop_and_not_final_ones() -> None:
    automation = crash_automation(75)
    trigger = automation["trigger"]

    assert trigger["posture"] == "Proactive" and trigger["within"] == 75
    assert trigger["after"] == ["prefect.flow-run.heartbeat"]
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Completed"} <= set(trigger["expect"])
    assert automation["actions"] == [
        {"type": "change-flow-run-state", "state": "CRASHED", "message": automation["actions"][0]["message"]}
    ]
