"""Multi-step changes: all or nothing, without AWS."""

from __future__ import annotations

import pytest

from tasks.plan import PartialApplyError
from tasks.steps import Step, run_steps


def _recording(log: list[str], name: str, fail: bool = False) -> Step:
    def do() -> str:
        if fail:
            raise RuntimeError(f"{name} broke")
        log.append(f"do {name}")
        return f"req-{name}"

    return Step(name, do, lambda: log.append(f"undo {name}"))


def test_all_steps_run_in_order_and_return_request_ids() -> None:
    log: list[str] = []
    assert run_steps("k", [_recording(log, "a"), _recording(log, "b")]) == ["req-a", "req-b"]
    assert log == ["do a", "do b"]


def test_failure_of_the_first_step_is_raised_as_is() -> None:
    log: list[str] = []
    with pytest.raises(RuntimeError, match="a broke"):
        run_steps("k", [_recording(log, "a", fail=True), _recording(log, "b")])
    assert log == []


def test_failure_midway_undoes_done_steps_in_reverse() -> None:
    log: list[str] = []
    steps = [_recording(log, "a"), _recording(log, "b"), _recording(log, "c", fail=True)]
    with pytest.raises(PartialApplyError, match="step 'c' failed") as err:
        run_steps("rollback.ecs", steps)
    assert log == ["do a", "do b", "undo b", "undo a"]
    assert err.value.undone == ["b", "a"]
    assert isinstance(err.value.__cause__, RuntimeError)


def test_an_undo_that_fails_is_reported_and_the_others_still_run() -> None:
    log: list[str] = []

    def broken_undo() -> None:
        raise RuntimeError("undo refused")

    steps = [_recording(log, "a"), Step("b", lambda: "req-b", broken_undo), Step("c", lambda: "x", None)]
    steps.append(_recording(log, "d", fail=True))
    with pytest.raises(PartialApplyError) as err:
        run_steps("k", steps)
    assert err.value.undone == ["a"]
    assert "NOT undone, needs a human" in str(err.value)
    assert "b (undo refused)" in str(err.value) and "c (cannot be undone)" in str(err.value)
