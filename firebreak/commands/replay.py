"""``firebreak replay``: what a new policy (and catalog) would have done to every past incident.

The check a team runs in CI on every policy pull request. The logic is flows.replay (pure);
this module reads the records, prints and chooses the exit code: 0 no change, 1 changes with
``--fail-on-change``, 2 an error (an unreadable policy or catalog, named with file and field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from firebreak.commands.history_source import (
    DEFAULT_DIR,
    INVALID,
    BucketOption,
    DirOption,
    JsonOption,
    RegionOption,
    SinceOption,
    read_reports,
    since,
    stores,
)

if TYPE_CHECKING:
    from flows.replay import IncidentReplay, ReplaySummary
    from policies import Policy
    from tasks.catalog import Catalog

CHANGED = 1


def _policy(path: Path) -> Policy:
    from policies import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e


def _catalog(path: Path | None) -> Catalog | None:
    from tasks.catalog import CatalogError, load_catalog

    try:
        return None if path is None else load_catalog(path)
    except CatalogError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e


def replay(
    policy: Annotated[Path, typer.Option("--policy", help="The new policy YAML to replay under.")],
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="A new catalog to diagnose with (default: the catalog entry each incident ran with)."
        ),
    ] = None,
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    since_date: SinceOption = None,
    as_json: JsonOption = False,
    fail_on_change: Annotated[
        bool, typer.Option("--fail-on-change", help="Exit 1 when any incident would have gone differently.")
    ] = False,
) -> None:
    """Re-decide past incidents under POLICY (and CATALOG) and show what would change: each
    incident's top hypothesis then and now, each action's tier then and now, guardrails that
    would now stop it, approvals that would now be needed, and a summary by kind of change.
    Records written before replay existed replay where they can and say what they lack."""
    from flows.replay import replay_incident, summarize
    from flows.replay_records import read_incident
    from tasks.incident_records import IncidentRecordError

    new_policy, new_catalog = _policy(policy), _catalog(catalog)
    after = since(since_date)
    try:
        replays = [
            replay_incident(read_incident(store, report), new_policy, new_catalog)
            for store in stores(directory, bucket, region)
            for report in read_reports(store, after)
        ]
    except (OSError, IncidentRecordError) as e:
        typer.echo(f"cannot read the incident records: {e}", err=True)
        raise typer.Exit(INVALID) from e
    summary = summarize(replays)
    if as_json:
        body = {
            "policy": str(policy),
            "catalog": str(catalog) if catalog else None,
            "incidents": [r.model_dump(mode="json") for r in replays],
            "summary": summary.model_dump(),
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        for r in replays:
            typer.echo(_text(r))
        typer.echo(_summary_text(summary))
    if fail_on_change and summary.changed:
        raise typer.Exit(CHANGED)


def _text(r: IncidentReplay) -> str:
    mark = "CHANGED" if r.changes else "no change"
    lines = [f"{r.incident_id} {r.service}/{r.environment} {r.alarm}{' (drill)' if r.drill else ''}: {mark}"]
    if r.top_then is None and r.top_now is None:
        lines.append("  not diagnosed (nothing to replay)")
    else:
        lines.append(f"  top hypothesis: {r.top_then or '-'} -> {r.top_now or 'not re-diagnosed'}")
    for a in r.actions:
        step = "" if a.stage == "resolve" else f" [{a.stage}]"
        lines.append(
            f"  {a.kind}{step}: {a.tier_then or '?'} ({a.rule_then}) -> {a.tier_now.value} ({a.rule_now})"
        )
        lines += [f"    would now be stopped by {g}" for g in a.guardrails_now]
        if a.approval_now:
            lines.append(f"    approval now needed: {a.approval_now}")
        lines += [f"    assumed: {x}" for x in a.assumed]
    lines += [f"  note: {n}" for n in r.notes]
    lines += [f"  lacks: {x}" for x in r.lacks]
    return "\n".join(lines)


def _summary_text(s: ReplaySummary) -> str:
    counts = ", ".join(f"{kind}: {n}" for kind, n in s.changes.items()) or "none"
    return (
        f"{s.incidents} incident(s) replayed, {s.changed} would have gone differently, "
        f"{s.incomplete} with incomplete records; changes: {counts}"
    )


def register(app: typer.Typer) -> None:
    """Add ``firebreak replay``."""
    app.command("replay")(replay)
