"""Scripted humans for flow tests: answer paused steps in order, through the resume API."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from flows.pending import PendingStep, ResumeRefusedError, answer_step, approval_input, pending_steps
from policies.approvals import Identity
from tests.people import PEOPLE, key_of

REFUSER = "alice"


class Script:
    """Answers each new paused step with the next entry of ``answers``.

    An entry is a dict of run input, or a function of the step that returns one; for approvals
    ``plan_hash`` is filled from the step unless the entry sets it (to test answers for another
    plan), and where the rule needs a verified identity a test person's answer is signed with
    their key (tests/people.py) unless the entry has ``"unsigned": True`` (a name typed in the
    UI) or its own ``proof``. ``None`` leaves the step unanswered (to test timeouts).
    ``before(step)`` runs first (e.g. flip the kill switch).
    """

    def __init__(
        self,
        answers: list[dict[str, Any] | Callable[[PendingStep], dict[str, Any]] | None],
        *,
        before: Callable[[PendingStep], None] | None = None,
    ) -> None:
        self.answers = list(answers)
        self.before = before
        self.steps: list[PendingStep] = []
        self.refused: list[str] = []
        self._seen: set[str] = set()
        self._stop = threading.Event()
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._loop,), daemon=True)

    def __enter__(self) -> Script:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            try:
                steps = pending_steps()
            except Exception as e:  # noqa: BLE001 - keep answering; a test fails on its own asserts
                self.refused.append(f"listing failed: {e}")
                continue
            for step in steps:
                key = f"{step.flow_run_id}:{step.pause_key}"
                if key in self._seen:
                    continue
                self._seen.add(key)
                self.steps.append(step)
                # A step the script did not expect is refused at once, so a test fails on its
                # assertions instead of hanging until the approval deadline.
                answer = self.answers.pop(0) if self.answers else _refusal(step)
                if self.before is not None:
                    self.before(step)
                if answer is None:
                    continue
                run_input = dict(answer(step) if callable(answer) else answer)
                if step.kind == "approval":
                    run_input = _signed_if_needed(step, run_input)
                    run_input.setdefault("plan_hash", step.plan_hash)
                try:
                    answer_step(step.flow_run_id, run_input)
                except ResumeRefusedError as e:
                    self.refused.append(str(e))


def _signed_if_needed(step: PendingStep, run_input: dict[str, Any]) -> dict[str, Any]:
    """Sign a test person's answer, as `firebreak approve --key` would, where the rule needs it."""
    who = run_input.get("approver")
    if (
        run_input.pop("unsigned", False)
        or "proof" in run_input
        or step.identity is not Identity.VERIFIED
        or who not in PEOPLE
    ):
        return run_input
    signed = approval_input(
        step, approver=who, approve=run_input["approve"], reason=run_input.get("reason", ""), key=key_of(who)
    )
    return {**signed, **{k: v for k, v in run_input.items() if k == "plan_hash"}}


def _refusal(step: PendingStep) -> dict[str, Any]:
    if step.kind == "approval":
        # An answer from someone the policy does not allow would be refused and asked again;
        # alice leads on-call in the default policy, so her rejection ends the step.
        return reject(REFUSER, "not in the test's script")
    return {"done": False, "operator": "unexpected-step", "notes": "not in the test's script"}


def approve(name: str, reason: str = "test") -> dict[str, Any]:
    return {"approve": True, "approver": name, "reason": reason}


def reject(name: str, reason: str = "test") -> dict[str, Any]:
    return {"approve": False, "approver": name, "reason": reason}


def done(name: str) -> dict[str, Any]:
    return {"done": True, "operator": name, "notes": "did it"}
