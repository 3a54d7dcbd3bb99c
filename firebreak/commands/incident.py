"""``firebreak kill-switch / trigger / escalate`` (and, from firebreak/commands/approvals.py,
``pending / approve``): the on-call's commands.

They talk to the Prefect API named by PREFECT_API_URL, exactly like the UI: an approval from
the CLI goes through the same resume endpoint and the same policy checks as one from the UI.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from alerts.models import Alert

INVALID = 2


class Switch(StrEnum):
    ON = "on"
    OFF = "off"
    STATUS = "status"


def _fail(message: str, code: int = INVALID) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


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
        Path | None,
        typer.Option(
            help="Run locally in this process with this catalog. Without it the alert's service is "
            "checked against FIREBREAK_CATALOG_FILE and the run starts on the deployment."
        ),
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy file for a local run.")] = None,
    deployment: Annotated[
        str, typer.Option(help="Deployment to start when not running locally.")
    ] = "incident-response/incident",
) -> None:
    """Start an incident from a saved alert (on the deployment, or locally with --catalog).

    The alert's fingerprint and onset are the idempotency key: the same alert never starts two
    incidents on the deployment. Its service and environment must be in the catalog. When
    Prefect cannot be reached the alert is kept as a dead letter for `firebreak alert replay`
    (exit 2).
    """
    from alerts.errors import AlertParseError
    from alerts.routing import load_routing
    from alerts.sources import parse_payload, source_named
    from flows.host_config import host_config
    from tasks.catalog import CatalogError, load_catalog

    try:
        result = parse_payload(source_named(source), alert_file.read_bytes(), load_routing(None))
    except OSError as e:
        raise _fail(f"{alert_file}: cannot read: {e.strerror}") from e
    except (AlertParseError, ValueError) as e:
        raise _fail(f"{alert_file}: {e}") from e
    if not result.alerts:
        raise _fail(f"{alert_file}: no alert that starts an incident (ignored: {result.ignored})")
    catalog_file = catalog or host_config().catalog_file
    if catalog_file is None:
        raise _fail(
            "trigger checks the alert's service against the catalog: "
            "give --catalog or set FIREBREAK_CATALOG_FILE"
        )
    try:
        known = load_catalog(catalog_file)
        for alert in result.alerts:
            if not alert.routable:
                raise CatalogError(f"alert {alert.name!r} names no service and environment")
            known.entry(str(alert.service), str(alert.environment))
    except CatalogError as e:
        raise _fail(f"{alert_file}: {e}") from e
    for alert in result.alerts:
        if catalog is not None:
            from flows.host_config import host_environment
            from flows.incident import incident_response
            from flows.settings import RunSettings

            # A local run: this process is the flows' host, so its options are the host's.
            os.environ.update(host_environment(catalog=catalog, policy=policy))
            settings = RunSettings()
            state = incident_response(alert=alert, settings=settings, return_state=True)
            typer.echo(f"{alert.name}: {state.type.value}: {state.message}")
            continue
        import httpx
        from prefect.client.schemas.objects import FlowRun
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound

        try:
            run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync call: not a coroutine
                deployment,
                parameters={"alert": json.loads(alert.model_dump_json())},
                idempotency_key=alert.dedup_key,
                timeout=0,
                tags=["incident"],
            )
        except (httpx.HTTPError, ObjectNotFound) as e:
            raise _fail(_kept_for_replay(alert, f"could not start {deployment} on Prefect: {e}")) from e
        typer.echo(f"{alert.name}: flow run {run.id} ({run.name}) on {deployment}")


def _kept_for_replay(alert: Alert, problem: str) -> str:
    """Keep ``alert`` as a retryable dead letter; the message says where (or that it could not)."""
    from alerts.dead_letters import DeadLetterStore, Reason, letter
    from alerts.errors import DeadLetterError
    from alerts.settings import DEFAULT_DEAD_LETTER_DIR

    store = DeadLetterStore(Path(os.environ.get("FIREBREAK_DEAD_LETTER_DIR") or DEFAULT_DEAD_LETTER_DIR))
    dead = letter(
        alert.source, Reason.PREFECT_UNAVAILABLE, problem, body=b"", headers={}, alert=alert, retryable=True
    )
    try:
        path = store.put(dead)
    except DeadLetterError as e:
        return f"{problem}; the alert could not be kept either: {e}"
    if path is None:
        return f"{problem}; the alert was not kept: the dead-letter store {store.directory} is full"
    return f"{problem}; the alert is kept in {path}: `firebreak alert replay` starts it later"


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
    from firebreak.commands.approvals import approve, pending

    app.command()(pending)
    app.command()(approve)
    app.command()(escalate)
    app.command("kill-switch")(kill_switch)
    app.command()(trigger)
