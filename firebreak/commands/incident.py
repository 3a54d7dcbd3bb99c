"""``firebreak pending / approve / kill-switch / trigger``: the on-call's commands.

They talk to the Prefect API named by PREFECT_API_URL, exactly like the UI: an approval from
the CLI goes through the same resume endpoint and the same policy checks as one from the UI.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.markdown import Markdown

if TYPE_CHECKING:
    from flows.pending import PendingStep

INVALID = 2


class Switch(StrEnum):
    ON = "on"
    OFF = "off"
    STATUS = "status"


def _fail(message: str, code: int = INVALID) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def pending(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per step.")] = False,
) -> None:
    """List paused steps waiting for a human (approvals and human-only checklists), with their plans."""
    from flows.pending import pending_steps

    steps = pending_steps()
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
    key: Annotated[
        Path | None,
        typer.Option(
            envvar="FIREBREAK_APPROVER_KEY",
            help="Your ed25519 private key (PEM): signs the answer, proving it is yours.",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Print a signed proof to paste into the Prefect form's Signed proof field, and "
            "send nothing: needs only --key and --plan-hash (both shown in the form).",
        ),
    ] = False,
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
    """
    from flows.identity import Channel, IdentityError, load_private_key
    from flows.pending import ResumeRefusedError, answer_step, approval_input, human_input, pending_steps
    from flows.signed_answers import PASTE_MINUTES, sign_answer
    from policies.approvals import Identity

    try:
        signing_key = load_private_key(key) if key is not None else None
    except IdentityError as e:
        raise _fail(str(e)) from e
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

    step = next((s for s in pending_steps() if s.flow_run_id == flow_run_id), None)
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


def kill_switch(state: Annotated[Switch, typer.Argument(help="on, off, or status.")] = Switch.STATUS) -> None:
    """Stop (on) or allow (off) every mutating action, in every flow run, immediately.

    Read-only work (snapshots, status updates, paging a human) continues. Flows read the switch
    right before each action. To also stop new runs from starting: `prefect work-pool pause
    firebreak` (see docs/operations.md for what that does to the backlog).
    """
    from flows.killswitch import kill_switch_on, set_kill_switch

    if state is not Switch.STATUS:
        set_kill_switch(state is Switch.ON)
    typer.echo(f"kill switch is {'ON: no mutating action will run' if kill_switch_on() else 'off'}")


def trigger(
    alert_file: Annotated[Path, typer.Argument(help="A saved alert payload (JSON).")],
    source: Annotated[
        str, typer.Option(help="Format: cloudwatch, eventbridge, alertmanager, pagerduty, generic.")
    ] = "generic",
    catalog: Annotated[
        Path | None, typer.Option(help="Run locally in this process with this catalog.")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy file for a local run.")] = None,
    deployment: Annotated[
        str, typer.Option(help="Deployment to start when not running locally.")
    ] = "incident-response/incident",
) -> None:
    """Start an incident from a saved alert (on the deployment, or locally with --catalog).

    The alert's fingerprint and onset are the idempotency key: the same alert never starts two
    incidents on the deployment.
    """
    from alerts.errors import AlertParseError
    from alerts.routing import load_routing
    from alerts.sources import parse_payload, source_named

    try:
        result = parse_payload(source_named(source), alert_file.read_bytes(), load_routing(None))
    except OSError as e:
        raise _fail(f"{alert_file}: cannot read: {e.strerror}") from e
    except (AlertParseError, ValueError) as e:
        raise _fail(f"{alert_file}: {e}") from e
    if not result.alerts:
        raise _fail(f"{alert_file}: no alert that starts an incident (ignored: {result.ignored})")
    for alert in result.alerts:
        if catalog is not None:
            from flows.incident import incident_response
            from flows.settings import RunSettings

            settings = RunSettings(catalog_path=str(catalog), policy_path=str(policy) if policy else None)
            state = incident_response(alert=alert, settings=settings, return_state=True)
            typer.echo(f"{alert.name}: {state.type.value}: {state.message}")
            continue
        from prefect.client.schemas.objects import FlowRun
        from prefect.deployments import run_deployment

        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync call: not a coroutine
            deployment,
            parameters={"alert": json.loads(alert.model_dump_json())},
            idempotency_key=alert.dedup_key,
            timeout=0,
            tags=["incident"],
        )
        typer.echo(f"{alert.name}: flow run {run.id} ({run.name}) on {deployment}")


def escalate(
    every: Annotated[float, typer.Option(help="Seconds between passes.")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (e.g. from cron).")] = False,
) -> None:
    """Page the next escalation level of every paused incident whose wait is over its time.

    Runs outside the paused runs (Prefect refuses task runs while a run is paused). Several
    copies may run: each level is paged once per paused step whoever gets there first.
    """
    import time

    from flows.escalation import escalation_pass

    while True:
        for page in escalation_pass():
            outcome = f"FAILED: {page.error}" if page.error else "paged"
            typer.echo(f"{page.pause_key}: {page.level.name} {outcome}")
        if once:
            return
        time.sleep(every)


def register(app: typer.Typer) -> None:
    """Add the on-call commands."""
    app.command()(pending)
    app.command()(approve)
    app.command()(escalate)
    app.command("kill-switch")(kill_switch)
    app.command()(trigger)
