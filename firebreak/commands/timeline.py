"""``firebreak timeline verify PATH`` (or ``ID --bucket B``): is this timeline the one Firebreak wrote?

Exit codes: 0 intact and anchored (or intact, with ``--unanchored``), 1 tampered or not
anchored (the message names the first altered, removed or reordered entry, the missing tail,
a forged head signature, an unreadable report, or that no signed head covers the entries), 2
the file cannot be read as a timeline or the policy is invalid.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.anchor import verify_anchored
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
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="The policy whose record_signers are the worker hosts' keys (default: this host's "
            "FIREBREAK_POLICY_FILE when set, else the shipped policy).",
        ),
    ] = None,
    unanchored: Annotated[
        bool,
        typer.Option(
            "--unanchored",
            help="The records were written without a records key: check the chain and heads only "
            "(a rewritten and re-hashed file then passes).",
        ),
    ] = False,
) -> None:
    """Check the timeline's hash chain, every head recorded next to it, and its anchor: a head
    signed by a worker host key that the policy lists under ``record_signers`` must cover every
    entry (see docs/security.md, Records).

    Heads read: the sidecar ``timeline.head.json`` (written after every entry) or, with
    ``--bucket``, the metadata of the timeline object and of each of its earlier versions; the
    incident's ``report.json`` (its ``chain_head``); and ``--head/--length``. A report that is
    there but not readable fails. The signers come from ``--policy``, else this host's
    ``FIREBREAK_POLICY_FILE``, else the shipped policy; the output names which.
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
    keys, signers_from = ([], "") if unanchored else _record_signers(policy_file)
    found = [h for h in heads if h]
    if head is not None and length is not None:
        found.append(ChainHead(length=length, hash=head, source="--head"))
    if unanchored:
        verdict = verify_chain(incident_id, started_at, entries, found)
        note = " (unanchored: no signature checked)"
    else:
        verdict = verify_anchored(incident_id, started_at, entries, found, keys)
        note = f"; record signers from {signers_from}"
    if not verdict.intact:
        raise _exit(f"{where}: {verdict.detail}", TAMPERED)
    sources = ", ".join(h.source for h in found) or "none"
    typer.echo(f"{where}: {verdict.detail}{note} (heads checked: {sources})")


def _record_signers(policy_file: Path | None) -> tuple[list[str], str]:
    """The record signers and which policy named them: ``--policy``, else this host's
    FIREBREAK_POLICY_FILE, else the shipped policy."""
    from flows.host_config import POLICY_ENV, host_config
    from policies import PolicyError, default_policy, load_policy

    host_policy = host_config().policy_file
    if policy_file is not None:
        source = f"{policy_file} (--policy)"
    elif host_policy is not None:
        policy_file, source = host_policy, f"{host_policy} ({POLICY_ENV})"
    else:
        source = "the shipped policy"
    try:
        policy = default_policy() if policy_file is None else load_policy(policy_file)
    except PolicyError as e:
        raise _exit(str(e), UNREADABLE) from e
    if not policy.record_signers:
        raise _exit(
            f"{source} lists no record_signers: nothing can anchor the records; give --policy, "
            "or --unanchored for records written without a records key",
            TAMPERED,
        )
    return list(policy.record_signers), source


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise _exit(f"{path}: cannot read a timeline: {e}", UNREADABLE) from e


def _read_bucket(bucket: str, region: str, incident_id: str) -> tuple[str, bytes, list[ChainHead | None]]:
    """Where, the incident's timeline, the head in its metadata and in every earlier version's
    (S3 versioning), and the report's head."""
    from flows.records import REPORT, TIMELINE, BucketRecords
    from tasks.aws import AwsTarget
    from tasks.incident_records import IncidentRecordError

    store = BucketRecords(bucket, AwsTarget(region=region))
    try:
        body, report = store.read(incident_id, TIMELINE), store.read(incident_id, REPORT)
        stored_head, versions = store.head(incident_id), store.version_heads(incident_id)
    except IncidentRecordError as e:
        raise _exit(f"{store.where}: {e}", UNREADABLE) from e
    if body is None:
        raise _exit(f"{store.where}: {incident_id} has no {TIMELINE}", UNREADABLE)
    where = f"{store.where}/{incident_id}"
    return f"{where}/{TIMELINE}", body, [stored_head, *versions, _recorded_head(report, f"{where}/{REPORT}")]


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
    """The head the report recorded (``chain_head``); None when there is no report."""
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _exit(f"{path}: the report is unreadable: {e}", TAMPERED) from e
    return _recorded_head(body, path.name)


def _recorded_head(report: bytes | None, source: str) -> ChainHead | None:
    from flows.trusted_records import ReportHeadError, report_head

    try:
        return report_head(report, source)
    except ReportHeadError as e:
        raise _exit(str(e), TAMPERED) from e


def register(app: typer.Typer) -> None:
    """Add ``firebreak timeline ...``."""
    app.add_typer(timeline_app, name="timeline")
