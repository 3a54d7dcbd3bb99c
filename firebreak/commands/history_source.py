"""Where ``firebreak replay`` and ``firebreak policy suggest`` read past incidents from.

``--dir`` names an incidents directory, a scenario's drill output or a whole drill output
(flows.records_dirs); ``--bucket``/``--region`` the evidence bucket instead. Reports are read
with flows.history; ``--since`` keeps incidents with onset at or after a date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from flows.records import IncidentRecords
    from flows.report import IncidentReport

INVALID = 2
DirOption = Annotated[
    Path,
    typer.Option("--dir", help="Incidents directory, a scenario's drill output or a drill's output."),
]
BucketOption = Annotated[str | None, typer.Option(help="Read the evidence bucket instead of --dir.")]
RegionOption = Annotated[str, typer.Option(help="The bucket's region.")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only incidents with onset at or after this date (YYYY-MM-DD).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
DEFAULT_DIR = Path(".firebreak/incidents")


def stores(directory: Path, bucket: str | None, region: str) -> list[IncidentRecords]:
    """The stores the options name: the bucket when given, else every incidents directory
    ``directory`` names. Exits 2 when ``directory`` names none."""
    from flows.records import BucketRecords, LocalRecords
    from flows.records_dirs import IncidentsDirError, incidents_dirs
    from tasks.aws import AwsTarget

    if bucket:
        return [BucketRecords(bucket, AwsTarget(region=region))]
    try:
        return [LocalRecords(d) for d in incidents_dirs(directory)]
    except IncidentsDirError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e


def since(value: str | None) -> datetime | None:
    """``--since`` as a UTC-aware moment (a bare date or naive time is taken as UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or ISO time", param_hint="--since"
        ) from e
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_reports(store: IncidentRecords, after: datetime | None) -> list[IncidentReport]:
    """The store's reports with onset at or after ``after``, oldest first; unreadable ones are
    named on stderr. Exits 2 when the store cannot be read."""
    from flows.history import load_history
    from tasks.incident_records import IncidentRecordError

    try:
        history = load_history(store)
    except (OSError, IncidentRecordError) as e:
        typer.echo(f"cannot read the incident history in {store.where}: {e}", err=True)
        raise typer.Exit(INVALID) from e
    for incident_id, why in history.unreadable.items():
        typer.echo(f"skipped {incident_id}: {why}", err=True)
    return history.select(since=after)
