"""The people in a drill: answer paused steps the way the scenario says, through the same
resume API the Prefect UI and ``firebreak approve`` use.

Runs in a background thread while the flow runs in the foreground. ``interactive`` asks the
person at the terminal (they may also answer in the UI; whichever comes first wins).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

from rich.console import Console
from rich.markdown import Markdown
from rich.prompt import Confirm, Prompt

from drills.scenario import Answer, Responder
from flows.killswitch import set_kill_switch
from flows.pending import (
    PendingStep,
    ResumeRefusedError,
    answer_step,
    approval_input,
    human_input,
    pending_steps,
)


class DrillResponder:
    """Polls for paused steps and answers them; records what it answered."""

    def __init__(self, config: Responder, *, console: Console, poll_seconds: float = 0.5) -> None:
        self.config = config
        self.console = console
        self.poll_seconds = poll_seconds
        self.answered: list[str] = []
        self.asked = 0
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DrillResponder:
        context = contextvars.copy_context()  # carries the drill's Prefect API settings
        self._thread = threading.Thread(target=context.run, args=(self._loop,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                steps = pending_steps()
            except Exception as e:  # noqa: BLE001 - a transient API error must not kill the responder
                self.console.print(f"[yellow]responder: cannot list paused steps: {e}")
                continue
            for step in steps:
                marker = f"{step.flow_run_id}:{step.pause_key}"
                if marker not in self._seen:
                    self._seen.add(marker)
                    self.asked += 1
                    self._answer(step)

    def _answer(self, step: PendingStep) -> None:
        mode = self.config.approvals if step.kind == "approval" else self.config.human_steps
        if mode is Answer.TIMEOUT:
            self.answered.append(f"{step.kind}: left unanswered")
            return
        if step.kind == "approval" and self.config.kill_switch_at_approval:
            set_kill_switch(True)
            self.answered.append("kill switch: ON")
        decide: Callable[[PendingStep], tuple[bool, str, str]] = (
            self._ask_terminal if mode is Answer.INTERACTIVE else self._scripted
        )
        yes, who, why = decide(step)
        run_input = (
            approval_input(step, approver=who, approve=yes, reason=why)
            if step.kind == "approval"
            else human_input(operator=who, done=yes, notes=why)
        )
        try:
            answer_step(step.flow_run_id, run_input)
            self.answered.append(f"{step.kind}: {'yes' if yes else 'no'} by {who}")
        except ResumeRefusedError as e:
            self.console.print(f"[red]responder: {e}")

    def _scripted(self, step: PendingStep) -> tuple[bool, str, str]:
        mode = self.config.approvals if step.kind == "approval" else self.config.human_steps
        yes = mode is Answer.APPROVE
        return yes, self.config.approver, f"drill: scripted {'approval' if yes else 'rejection'}"

    def _ask_terminal(self, step: PendingStep) -> tuple[bool, str, str]:
        self.console.rule(f"[bold]Paused step ({step.kind}) in flow run {step.flow_run_name}")
        self.console.print(Markdown(step.description))
        question = "Approve this plan?" if step.kind == "approval" else "Is the checklist done?"
        yes = Confirm.ask(question, console=self.console)
        who = Prompt.ask("Your name", default=self.config.approver, console=self.console)
        why = Prompt.ask("Reason", default="", console=self.console)
        return yes, who, why
