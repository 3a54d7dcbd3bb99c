"""The people in a drill: answer paused steps the way the scenario says, through the same
resume API the Prefect UI and ``firebreak approve`` use.

Runs in a background thread while the flow runs in the foreground. ``interactive`` asks the
person at the terminal (they may also answer in the UI; whichever comes first wins). The drill
makes a signing key for each of its people (:func:`drill_keys`) and lists the public keys in
the drill's policy, so where a rule needs a verified identity (or ``channel: cli``) an answer
is signed exactly as ``firebreak approve --key`` signs it. With ``channel: slack`` the
approvals are clicks on the Slack stand-in's messages, signed as Slack signs them and sent to
the drill's receiver (drills/slack_channel.py).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.markdown import Markdown
from rich.prompt import Confirm, Prompt

from drills.scenario import Answer, Channel, Responder
from drills.slack_channel import SlackChannel, SlackDrillError
from flows.identity import private_key_pem, public_key_text
from flows.killswitch import set_kill_switch
from flows.pending import (
    PendingStep,
    ResumeRefusedError,
    answer_step,
    approval_input,
    human_input,
    pending_steps,
)
from policies.approvals import Identity


def drill_keys(names: list[str], folder: Path) -> dict[str, Ed25519PrivateKey]:
    """A fresh signing key per person, also written to ``folder/NAME.pem`` so a person at the
    terminal can answer with ``firebreak approve --key`` during an interactive drill."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {name: Ed25519PrivateKey.generate() for name in names}
    for name, key in keys.items():
        path = folder / f"{name}.pem"
        path.touch(mode=0o600)
        path.write_bytes(private_key_pem(key))
    return keys


def with_identities(policy: dict[str, Any], keys: dict[str, Ed25519PrivateKey]) -> dict[str, Any]:
    """``policy`` data listing each person's public key under ``people`` (a scenario's own
    entries are kept). Pure."""
    people = {name: {"public_key": public_key_text(key.public_key())} for name, key in keys.items()}
    return {**policy, "people": {**people, **(policy.get("people") or {})}}


class DrillResponder:
    """Polls for paused steps and answers them; records what it answered."""

    def __init__(
        self,
        config: Responder,
        *,
        console: Console,
        keys: dict[str, Ed25519PrivateKey] | None = None,
        key_folder: Path | None = None,
        poll_seconds: float = 0.5,
        slack: SlackChannel | None = None,
    ) -> None:
        self.config = config
        self.console = console
        self.keys = keys or {}
        self.key_folder = key_folder
        self.slack = slack
        self._turns: dict[str, int] = {}
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
        if step.kind == "approval" and self.slack is not None:
            self._click_in_slack(self.slack, step, who, yes)
            return
        sign = step.identity is Identity.VERIFIED or self.config.channel is Channel.CLI
        key = self.keys.get(who) if sign else None
        run_input = (
            approval_input(step, approver=who, approve=yes, reason=why, key=key)
            if step.kind == "approval"
            else human_input(operator=who, done=yes, notes=why)
        )
        try:
            answer_step(step.flow_run_id, run_input)
            self.answered.append(f"{step.kind}: {'yes' if yes else 'no'} by {who}")
        except ResumeRefusedError as e:
            self.console.print(f"[red]responder: {e}")

    def _click_in_slack(self, slack: SlackChannel, step: PendingStep, who: str, yes: bool) -> None:
        """Answer through the signed Slack callback; the receiver's private reply, if any,
        says why the click changed nothing."""
        try:
            told = slack.click(step, who, approve=yes)
        except SlackDrillError as e:
            self.console.print(f"[red]responder: {e}")
            return
        if told:
            self.console.print(f"[yellow]responder: Slack told {who}: {told}")
        self.answered.append(f"{step.kind}: {'yes' if yes else 'no'} by {who} (slack)")

    def _scripted(self, step: PendingStep) -> tuple[bool, str, str]:
        mode = self.config.approvals if step.kind == "approval" else self.config.human_steps
        yes = mode is Answer.APPROVE
        return yes, self._next_person(step), f"drill: scripted {'approval' if yes else 'rejection'}"

    def _next_person(self, step: PendingStep) -> str:
        """The people answer one plan in turn, each once (a re-asked step goes to the next)."""
        people = self.config.people
        if step.kind != "approval":
            return people[0]
        plan = f"{step.flow_run_id}:{step.plan_hash}"
        turn = self._turns.get(plan, 0)
        self._turns[plan] = turn + 1
        return people[turn % len(people)]

    def _ask_terminal(self, step: PendingStep) -> tuple[bool, str, str]:
        self.console.rule(f"[bold]Paused step ({step.kind}) in flow run {step.flow_run_name}")
        self.console.print(Markdown(step.description))
        if step.identity is Identity.VERIFIED and self.key_folder is not None:
            self.console.print(
                f"This rule needs a verified identity: your answer here is signed with the drill's "
                f"key for the name you give; or answer yourself with `firebreak approve "
                f"{step.flow_run_id} --as NAME --key {self.key_folder}/NAME.pem`."
            )
        question = "Approve this plan?" if step.kind == "approval" else "Is the checklist done?"
        yes = Confirm.ask(question, console=self.console)
        who = Prompt.ask("Your name", default=self.config.approver, console=self.console)
        why = Prompt.ask("Reason", default="", console=self.console)
        return yes, who, why
