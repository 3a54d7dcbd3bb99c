"""``firebreak pending / approve``: what waits for a human, and answering it.

Two ways to reach the paused runs. By default the commands talk to the Prefect API named by
PREFECT_API_URL, exactly like the UI (operators, who hold the Prefect credential). With
``--receiver URL`` (or FIREBREAK_RECEIVER_URL) they go through the receiver's ``/approvals``
routes instead, signed with the approver's key: an approver then needs neither the Prefect API
nor its credential (docs/approvals.md). ``approve --offline`` talks to nothing: it prints a
signed proof to paste into the Prefect form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.markdown import Markdown

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from flows.pending import PendingStep

INVALID = 2


def _fail(message: str, code: int = INVALID) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


_RECEIVER_HELP = (
    "Go through this receiver (`firebreak serve`) instead of the Prefect API, signed with your "
    "key: approvers need no Prefect credential."
)
_KEY_HELP = "Your ed25519 private key (PEM): signs the answer (or the request), proving it is yours."
Receiver = Annotated[str | None, typer.Option(envvar="FIREBREAK_RECEIVER_URL", help=_RECEIVER_HELP)]
KeyFile = Annotated[Path | None, typer.Option(envvar="FIREBREAK_APPROVER_KEY", help=_KEY_HELP)]


def _key(path: Path | None) -> Ed25519PrivateKey | None:
    from flows.identity import IdentityError, load_private_key

    try:
        return load_private_key(path) if path is not None else None
    except IdentityError as e:
        raise _fail(str(e)) from e


def _steps(receiver: str | None, person: str | None, key: Ed25519PrivateKey | None) -> list[PendingStep]:
    """The waiting steps, from the receiver (signed by ``person``) or from the Prefect API."""
    if receiver is None:
        from flows.pending import pending_steps

        return pending_steps()
    from firebreak.receiver_client import ReceiverError, connect, waiting_steps

    if person is None or key is None:
        raise _fail("--receiver needs --as NAME and --key PATH: it lists only to people it can verify")
    try:
        with connect(receiver) as client:
            return waiting_steps(client, person=person, key=key)
    except ReceiverError as e:
        raise _fail(str(e)) from e


def pending(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per step.")] = False,
    receiver: Receiver = None,
    as_: Annotated[
        str | None, typer.Option("--as", help="Your name in the policy (with --receiver).")
    ] = None,
    key: KeyFile = None,
) -> None:
    """List paused steps waiting for a human (approvals and human-only checklists), with their plans.

    With --receiver URL --as NAME --key PATH, the list comes from the receiver, which answers
    only a request signed by a person its policy lists; otherwise from the Prefect API.
    """
    steps = _steps(receiver, as_, _key(key) if receiver is not None else None)
    console = Console()
    if as_json:
        for step in steps:
            typer.echo(step.model_dump_json(exclude={"schema_"}))
        return
    if not steps:
        console.print("nothing is waiting for a human")
    for step in steps:
        console.rule(f"[bold]{step.kind}[/] flow run {step.flow_run_id} ({step.flow_run_name})")
        console.print(Markdown(step.description))
        for line in answer_lines(step):
            console.print(line, markup=False, highlight=False)


def answer_lines(step: PendingStep) -> list[str]:
    """How to answer ``step``: the command, and for a verified rule the two signed ways."""
    from flows.signed_answers import PASTE_MINUTES, offline_command, send_command
    from policies.approvals import Identity

    run = str(step.flow_run_id)
    if step.kind != "approval" or step.plan_hash is None:
        return [f"-> confirm done: firebreak approve {run} --as NAME [--reject] [--reason TEXT]"]
    if step.identity is not Identity.VERIFIED:
        return [
            f"-> approve: firebreak approve {run} --as NAME --plan-hash {step.plan_hash} [--reject] "
            "[--reason TEXT]"
        ]
    return [
        "-> this rule needs a verified identity (a typed name is refused):",
        f"   approve: {send_command(run, step.plan_hash)} [--reject] [--reason TEXT]",
        f"   or in the Prefect UI: paste the output of `{offline_command(run, step.plan_hash)} "
        f"[--reject]` into the form's Signed proof field within {PASTE_MINUTES} minutes",
        "   or with the Slack buttons",
    ]


def approve(
    flow_run_id: Annotated[UUID, typer.Argument(help="The paused flow run (see `firebreak pending`).")],
    as_: Annotated[str, typer.Option("--as", help="Your name, as in the policy's approvers.")],
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject the plan (or: checklist NOT done).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why; recorded in the timeline.")] = "",
    plan_hash: Annotated[
        str | None,
        typer.Option(help="The hash `firebreak pending` showed you: refuse if the plan changed since."),
    ] = None,
    key: KeyFile = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Print a signed proof to paste into the Prefect form's Signed proof field, and "
            "send nothing: needs only --key and --plan-hash (both shown in the form).",
        ),
    ] = False,
    receiver: Receiver = None,
) -> None:
    """Answer a paused step: approve or reject a plan, or confirm a human-only checklist.

    The answer is bound to the plan hash the step shows; the flow then checks it against the
    policy (allowed approvers, M-of-N, requester may not approve) and records the verdict. With
    --key (or FIREBREAK_APPROVER_KEY) it is signed: approver, flow run, plan hash, decision and
    the time.

    A rule with `identity: verified` (every production approval in the shipped policy) counts
    only a signed answer, given one of three ways: `--key PATH` signs and sends it; `--offline
    --key PATH --plan-hash HASH` prints a proof to paste into the Prefect form's Signed proof
    field within 5 minutes (the form shows this command with its run id and hash; give the same
    name there and set the Approve switch to what you signed: add --reject to sign a
    rejection); or the Slack buttons.

    With --receiver URL (or FIREBREAK_RECEIVER_URL) and --key, the signed answer goes to the
    receiver's POST /approvals, which checks it against the policy on its host and resumes the
    run: no Prefect API or credential needed.
    """
    from flows.identity import Channel
    from flows.pending import ResumeRefusedError, answer_step, approval_input, human_input
    from flows.signed_answers import PASTE_MINUTES, sign_answer
    from policies.approvals import Identity

    signing_key = _key(key)
    if offline:
        if signing_key is None:
            raise _fail("--offline needs --key PATH (or FIREBREAK_APPROVER_KEY): the proof is your signature")
        if plan_hash is None:
            raise _fail("--offline needs --plan-hash HASH: the form shows it (Plan hash field)")
        typer.echo(
            sign_answer(
                approver=as_,
                flow_run_id=str(flow_run_id),
                plan_hash=plan_hash,
                approve=not reject,
                key=signing_key,
                channel=Channel.FORM,
            )
        )
        typer.echo(
            f"Paste the line above into the form's Signed proof field within {PASTE_MINUTES} "
            f"minutes; set Your name to {as_} and switch Approve this plan "
            f"{'off' if reject else 'on'}.",
            err=True,
        )
        return

    step = next((s for s in _steps(receiver, as_, signing_key) if s.flow_run_id == flow_run_id), None)
    if step is None:
        raise _fail(f"flow run {flow_run_id} is not waiting for a human (see `firebreak pending`)")
    if plan_hash is not None and step.plan_hash != plan_hash:
        raise _fail(
            f"the plan changed: it is now {step.plan_hash}, you reviewed {plan_hash}; "
            "read it again with `firebreak pending`"
        )
    if step.kind == "approval" and step.identity is Identity.VERIFIED and signing_key is None:
        raise _fail(
            "this step's rule needs a verified identity: sign your answer with --key PATH "
            "(or FIREBREAK_APPROVER_KEY), or answer with the Slack buttons"
        )
    if receiver is not None:
        typer.echo(_through_receiver(receiver, step, as_, approve=not reject, reason=reason, key=signing_key))
        return
    run_input = (
        approval_input(step, approver=as_, approve=not reject, reason=reason, key=signing_key)
        if step.kind == "approval"
        else human_input(operator=as_, done=not reject, notes=reason)
    )
    try:
        answer_step(flow_run_id, run_input)
    except ResumeRefusedError as e:
        raise _fail(str(e)) from e
    verdict = (
        ("rejected" if reject else "approved")
        if step.kind == "approval"
        else ("not done" if reject else "done")
    )
    typer.echo(
        f"{verdict} by {as_}: answer accepted by Prefect; the flow checks it against the policy "
        "and records the result in the incident timeline"
    )


def _through_receiver(
    receiver: str,
    step: PendingStep,
    approver: str,
    *,
    approve: bool,
    reason: str,
    key: Ed25519PrivateKey | None,
) -> str:
    """Send the signed answer to the receiver's POST /approvals; what the receiver said."""
    from firebreak.receiver_client import ReceiverError, connect, send_answer
    from flows.pending import approval_input

    if step.kind != "approval" or key is None:
        raise _fail(
            "through the receiver only signed approvals are sent (--key PATH); a human-only "
            "checklist is confirmed in the Prefect UI or without --receiver"
        )
    proof = approval_input(step, approver=approver, approve=approve, reason=reason, key=key)["proof"]
    try:
        with connect(receiver) as client:
            return send_answer(client, proof=proof, reason=reason)
    except ReceiverError as e:
        raise _fail(str(e)) from e
