"""``firebreak timeline verify PATH``: is this incident timeline the one Firebreak wrote?

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
    path: Annotated[Path, typer.Argument(help="A timeline.json.")],
    head: Annotated[
        str | None, typer.Option(help="A chain head recorded elsewhere (e.g. S3 metadata): its hash.")
    ] = None,
    length: Annotated[int | None, typer.Option(help="The entry count that goes with --head.")] = None,
) -> None:
    """Check the timeline's hash chain and every head recorded next to it.

    Heads read: the sidecar ``timeline.head.json`` (written after every entry), the
    ``report.json`` in the same directory (its ``chain_head``), and ``--head/--length``.
    """
    if (head is None) != (length is None):
        raise _exit("give --head and --length together", UNREADABLE)
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
        entries = raw["entries"]
        incident_id, started_at = str(raw["incident_id"]), datetime.fromisoformat(raw["started_at"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise _exit(f"{path}: cannot read a timeline: {e}", UNREADABLE) from e
    heads = [h for h in (_sidecar(head_path(path)), _report_head(path.parent / "report.json")) if h]
    if head is not None and length is not None:
        heads.append(ChainHead(length=length, hash=head, source="--head"))
    verdict = verify_chain(incident_id, started_at, entries, heads)
    if not verdict.intact:
        raise _exit(f"{path}: {verdict.detail}", TAMPERED)
    sources = ", ".join(h.source for h in heads) or "none"
    typer.echo(f"{path}: {verdict.detail} (heads checked: {sources})")


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
        recorded = json.loads(path.read_text()).get("chain_head")
    except (OSError, ValueError, AttributeError):
        return None
    if recorded is None:
        return None
    try:
        return ChainHead.model_validate(recorded).model_copy(update={"source": path.name})
    except ValueError as e:
        raise _exit(f"{path}: its chain_head is unreadable: {e}", TAMPERED) from e


def register(app: typer.Typer) -> None:
    """Add ``firebreak timeline ...``."""
    app.add_typer(timeline_app, name="timeline")
