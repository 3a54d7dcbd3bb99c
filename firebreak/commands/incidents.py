"""``firebreak incidents list|show|stats``: the incident history, from a directory or the bucket.

Reads a local incidents directory (``--dir``, default the run settings' output dir) or the
evidence bucket (``--bucket``/``--region``). Tables are plain ``rich`` tables with the
definitions printed under them; ``--json`` and ``--csv`` export the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from flows.history import History
    from flows.records import IncidentRecords

INVALID = 2
incidents_app = typer.Typer(help="The incident history: list, show, stats.", no_args_is_help=True)

DirOption = Annotated[Path, typer.Option("--dir", help="Incidents directory.")]
BucketOption = Annotated[str | None, typer.Option(help="Read the evidence bucket instead of --dir.")]
RegionOption = Annotated[str, typer.Option(help="The bucket's region.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="CSV instead of a table.")]
DEFAULT_DIR = Path(".firebreak/incidents")


def records(directory: Path, bucket: str | None, region: str) -> IncidentRecords:
    """The store the options name: the bucket when given, else the directory."""
    from flows.records import BucketRecords, LocalRecords
    from tasks.aws import AwsTarget

    return BucketRecords(bucket, AwsTarget(region=region)) if bucket else LocalRecords(directory)


def _history(reader: IncidentRecords) -> History:
    from flows.history import load_history
    from tasks.incident_records import IncidentRecordError

    try:
        history = load_history(reader)
    except (OSError, IncidentRecordError) as e:
        typer.echo(f"cannot read the incident history: {e}", err=True)
        raise typer.Exit(INVALID) from e
    for incident_id, why in history.unreadable.items():
        typer.echo(f"skipped {incident_id}: {why}", err=True)
    return history


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO time") from e
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _emit(rows: list[dict[str, Any]], *, title: str, as_json: bool, as_csv: bool, notes: str = "") -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(out.getvalue(), nl=False)
        return
    table = Table(title=title)
    for column in rows[0] if rows else ["(no incidents)"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(v) for v in row.values()))
    console = Console()
    console.print(table)
    if notes:
        console.print(notes, markup=False, highlight=False)


@incidents_app.command("list")
def list_incidents(
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only incidents with onset at or after this date.")
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List past incidents, oldest first."""
    reports = _history(records(directory, bucket, region)).select(service=service, since=_since(since))
    rows = [
        {
            "id": r.incident_id,
            "onset": r.started_at.isoformat(),
            "service": r.service,
            "env": r.environment,
            "alarm": r.alert_name,
            "severity": r.severity,
            "outcome": r.outcome.value,
            "mitigations": ", ".join(f"{m.kind}:{m.status.value}" for m in r.mitigations),
            "drill": r.drill,
        }
        for r in reports
    ]
    _emit(rows, title="Incidents", as_json=as_json, as_csv=as_csv)


@incidents_app.command()
def show(
    incident_id: Annotated[str, typer.Argument(help="The incident id (INC-...).")],
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    chart: Annotated[bool, typer.Option("--chart", help="Write the incident's chart (PNG).")] = False,
    out: Annotated[Path | None, typer.Option(help="Where --chart writes (default ./ID.png).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one incident's report; with --chart, draw its chart from the stored metrics."""
    from flows.history import load_records

    reader = records(directory, bucket, region)
    report = _history(reader).get(incident_id)
    if report is None:
        typer.echo(f"no incident {incident_id} in the history", err=True)
        raise typer.Exit(INVALID)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        durations = report.durations()
        console = Console()
        console.print(f"[bold]{report.incident_id}[/] {report.alert_name} on {report.service} "
                      f"({report.environment}): {report.outcome.value}: {report.message}")  # fmt: skip
        console.print(", ".join(f"{k}={_fmt(v)}" for k, v in durations.items()), highlight=False)
        for m in report.mitigations:
            who = f" by {', '.join(m.people)}" if m.people else ""
            console.print(
                f"- {m.kind} ({m.tier}, {m.rule}): {m.status.value}{who}, verified {_fmt(m.verified)}"
            )
    if chart:
        from flows.chart import chart_spec, render_chart

        timeline, metrics = load_records(reader, incident_id)
        if timeline is None or metrics is None:
            typer.echo(f"{incident_id}: no stored timeline or metrics to draw", err=True)
            raise typer.Exit(INVALID)
        path = out or Path(f"{incident_id}.png")
        path.write_bytes(render_chart(chart_spec(report, timeline, metrics)).png)
        typer.echo(f"chart written to {path}", err=as_json)


@incidents_app.command()
def stats(
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    by: Annotated[str, typer.Option(help="Group by service, kind (mitigation kind) or alarm.")] = "service",
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only incidents with onset at or after this date.")
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Counts, MTTD, time to first mitigation, MTTR, approval wait, success and precision."""
    from flows.stats import DEFINITIONS, GroupBy, hypothesis_stats, stats_by

    try:
        group = GroupBy(by)
    except ValueError as e:
        raise typer.BadParameter(f"--by must be one of {', '.join(g.value for g in GroupBy)}") from e
    reports = _history(records(directory, bucket, region)).select(service=service, since=_since(since))
    rows = [s.model_dump() for s in stats_by(reports, group)]
    hypotheses = [h.model_dump() for h in hypothesis_stats(reports)]
    if as_json:
        typer.echo(json.dumps({"by": group.value, "groups": rows, "hypotheses": hypotheses}, indent=2))
        return
    _emit(rows, title=f"Incidents by {group.value}", as_json=False, as_csv=as_csv)
    if not as_csv:
        _emit(hypotheses, title="Hypotheses", as_json=False, as_csv=False, notes=DEFINITIONS)


def register(app: typer.Typer) -> None:
    """Add ``firebreak incidents ...``."""
    app.add_typer(incidents_app, name="incidents")
