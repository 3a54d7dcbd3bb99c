"""``firebreak incidents list|show|stats``: the incident history, from a directory or the bucket.

Reads local incidents (``--dir``: an incidents directory, a scenario's drill output or a whole
drill output, see flows.records_dirs; default ``.firebreak/incidents``) or the evidence bucket
(``--bucket``/``--region``). ``list`` prints a table that reads in 80 columns
(firebreak.commands.incident_rows), ``--wide`` every field whole; ``stats`` prints ``rich``
tables with the definitions under them; ``--json`` and ``--csv`` export the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from flows.history import History
    from flows.records import IncidentRecords

INVALID = 2
incidents_app = typer.Typer(help="The incident history: list, show, stats.", no_args_is_help=True)

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        help="An incidents directory, a drill's output (DRILL_OUTPUT: every scenario in it) "
        "or one scenario's output (DRILL_OUTPUT/<scenario>).",
    ),
]
BucketOption = Annotated[str | None, typer.Option(help="Read the evidence bucket instead of --dir.")]
RegionOption = Annotated[str, typer.Option(help="The bucket's region.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="CSV instead of a table.")]
DEFAULT_DIR = Path(".firebreak/incidents")


def records(directory: Path, bucket: str | None, region: str) -> IncidentRecords:
    """The store the options name: the bucket when given, else the incidents directories that
    ``directory`` names (flows.records_dirs); exits 2 when it names none."""
    from flows.records import BucketRecords
    from flows.records_dirs import IncidentsDirError, LocalDirs, incidents_dirs
    from tasks.aws import AwsTarget

    if bucket:
        return BucketRecords(bucket, AwsTarget(region=region))
    try:
        return LocalDirs(incidents_dirs(directory))
    except IncidentsDirError as e:
        typer.echo(f"--dir {e}", err=True)
        raise typer.Exit(INVALID) from e


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


def _emit(
    rows: list[dict[str, Any]],
    *,
    title: str,
    as_json: bool,
    as_csv: bool,
    notes: str = "",
    wide: bool = False,
) -> None:
    """JSON, CSV or a table. A table's first column (the row's name: an id, a key) is kept as
    wide as its longest line; the others wrap at spaces and fold a word that does not fit.
    With ``wide`` the table is printed at its natural width, however wide the terminal."""
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
    cells = [[_fmt(v) for v in row.values()] for row in rows]
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        show_lines=any("\n" in c for r in cells for c in r),
    )
    for i, column in enumerate(rows[0] if rows else ["(no incidents)"]):
        table.add_column(column, overflow="fold", no_wrap=i == 0)
    for row_cells in cells:
        table.add_row(*row_cells)
    console = Console()
    if wide:
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        console = Console(width=max(console.width, natural))
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
    wide: Annotated[
        bool, typer.Option("--wide", help="Every field in full: whole ids, ISO onset, alarm.")
    ] = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List past incidents, oldest first: a table that reads in 80 columns (--wide: every field)."""
    from firebreak.commands.incident_rows import NARROW_NOTE, narrow_rows, wide_rows

    reports = _history(records(directory, bucket, region)).select(service=service, since=_since(since))
    if wide or as_json or as_csv:
        _emit(wide_rows(reports), title="Incidents", as_json=as_json, as_csv=as_csv, wide=True)
    else:
        _emit(narrow_rows(reports), title="Incidents", as_json=False, as_csv=False, notes=NARROW_NOTE)


@incidents_app.command()
def show(
    incident_id: Annotated[str, typer.Argument(help="The incident id (INC-...), or a unique prefix of it.")],
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    chart: Annotated[bool, typer.Option("--chart", help="Write the incident's chart (PNG).")] = False,
    out: Annotated[Path | None, typer.Option(help="Where --chart writes (default ./ID.png).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one incident's report; with --chart, draw its chart from the stored metrics."""
    from firebreak.commands.incident_rows import by_prefix
    from flows.history import load_records

    reader = records(directory, bucket, region)
    found = by_prefix(_history(reader).reports, incident_id)
    if len(found) != 1:
        why = "no incident" if not found else f"{len(found)} incidents start with"
        typer.echo(f"{why} {incident_id} in {reader.where}", err=True)
        raise typer.Exit(INVALID)
    [report] = found
    incident_id = report.incident_id
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        durations = report.clock_durations()
        console = Console()
        console.print(f"[bold]{report.incident_id}[/] {report.alert_name} on {report.service} "
                      f"({report.environment}): {report.outcome.value}: {report.message}")  # fmt: skip
        clock = f" (drill time, x{report.drill_speed:g})" if report.drill_speed else ""
        console.print(", ".join(f"{k}={_fmt(v)}" for k, v in durations.items()) + clock, highlight=False)
        for m in report.mitigations:
            who = f" by {', '.join(m.people)}" if m.people else ""
            console.print(
                f"- {m.kind} ({m.tier}, {m.rule}): {m.status.value}{who}, verified {_fmt(m.verified)}"
            )
        for outcome in report.regions:
            console.print(f"region {outcome.line}", highlight=False)
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
