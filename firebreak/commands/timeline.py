"""``firebreak timeline verify PATH`` (or ``ID --bucket B``): is this timeline the one Firebreak wrote?

Exit codes: 0 intact, 1 tampered (the message names the first altered, removed or reordered
entry, or the missing tail), 2 the file cannot be read as a timeline.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.chain import ChainHead, verify_chain
from flows.timeline import head_path

INTACT, TAMPERED, UNREADABLE = 0, 1, 2

timeline_app = typer.Typer(help="The incident timeline (audit log).", no_args_is_help=True)


@timeline_app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="A timeline.json, or with --bucket an incident id.")],
    head: Annotated[
        str | None, typer.Option(help="A chain head recorded elsewhere (e.g. S3 metadata): its hash.")
    ] = None,
    length: Annotated[int | None, typer.Option(help="The entry count that goes with --head.")] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Read the incident's timeline from this evidence bucket.")
    ] = None,
    region: Annotated[str, typer.Option(help="The bucket's region.")] = "us-east-1",
) -> None:
    """Check the timeline's hash chain and every head recorded next to it.

    Heads read: the sidecar ``timeline.head.json`` (written after every entry) or, with
    ``--bucket``, the timeline object's metadata; the incident's ``report.json`` (its
    ``chain_head``); and ``--head/--length``.
    """
    if (head is None) != (length is None):
        raise _exit("give --head and --length together", UNREADABLE)
    if bucket is None:
        where, body = str(path), _read_file(path)
        heads = [_sidecar(head_path(path)), _report_head(path.parent / "report.json")]
    else:
        where, body, heads = _read_bucket(bucket, region, str(path))
    try:
        raw: dict[str, Any] = json.loads(body)
        entries = raw["entries"]
        incident_id, started_at = str(raw["incident_id"]), datetime.fromisoformat(raw["started_at"])
    except (ValueError, KeyError, TypeError) as e:
        raise _exit(f"{where}: cannot read a timeline: {e}", UNREADABLE) from e
    found = [h for h in heads if h]
    if head is not None and length is not None:
        found.append(ChainHead(length=length, hash=head, source="--head"))
    verdict = verify_chain(incident_id, started_at, entries, found)
    if not verdict.intact:
        raise _exit(f"{where}: {verdict.detail}", TAMPERED)
    sources = ", ".join(h.source for h in found) or "none"
    typer.echo(f"{where}: {verdict.detail} (heads checked: {sources})")


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise _exit(f"{path}: cannot read a timeline: {e}", UNREADABLE) from e


def _read_bucket(bucket: str, region: str, incident_id: str) -> tuple[str, bytes, list[ChainHead | None]]:
    """Where, the incident's timeline, the head in its metadata and the report's head."""
    from firebreak.commands.incidents import records
    from flows.records import REPORT, TIMELINE
    from tasks.incident_records import IncidentRecordError

    store = records(Path(), bucket, region)
    try:
        body, report = store.read(incident_id, TIMELINE), store.read(incident_id, REPORT)
        stored_head = store.head(incident_id)
    except IncidentRecordError as e:
        raise _exit(f"{store.where}: {e}", UNREADABLE) from e
    if body is None:
        raise _exit(f"{store.where}: {incident_id} has no {TIMELINE}", UNREADABLE)
    where = f"{store.where}/{incident_id}"
    return f"{where}/{TIMELINE}", body, [stored_head, _recorded_head(report, f"{where}/{REPORT}")]


def _exit(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _sidecar(path: Path) -> ChainHead | None:
    """The head sidecar, or None when there is none. One that is there but unreadable is
    tampering with the record, not a reason to skip it."""
    if not path.exists():
        return None
    try:
        return ChainHead.model_validate_json(path.read_bytes()).model_copy(update={"source": path.name})
    except (OSError, ValueError) as e:
        raise _exit(f"{path}: the chain head record is unreadable: {e}", TAMPERED) from e


def _report_head(path: Path) -> ChainHead | None:
    """The head the report recorded (``chain_head``), when there is a readable report with one."""
    try:
        body = path.read_bytes()
    except OSError:
        return None
    return _recorded_head(body, path.name)


def _recorded_head(report: bytes | None, source: str) -> ChainHead | None:
    try:
        recorded = json.loads(report).get("chain_head") if report else None
    except (ValueError, AttributeError):
        return None
    if recorded is None:
        return None
    try:
        return ChainHead.model_validate(recorded).model_copy(update={"source": source})
    except ValueError as e:
        raise _exit(f"{source}: its chain_head is unreadable: {e}", TAMPERED) from e


def register(app: typer.Typer) -> None:
    """Add ``firebreak timeline ...``."""
    app.add_typer(timeline_app, name="timeline")
