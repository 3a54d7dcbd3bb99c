"""Incident records any host can read: one interface, a local directory or the evidence bucket.

An incident's records (``timeline.json``, ``report.json``, ``metrics.json``, ``chart.png``,
``postmortem.md``) are read wherever Firebreak runs: a re-run of a crashed incident on another
worker, ``recover``, the join of a second alert (its run continues the timeline), the history
and ``firebreak timeline verify``. :class:`IncidentRecords` is that interface, with two stores:

- :class:`LocalRecords`: ``<output_dir>/<incident id>/<name>``, for drills and tests;
- :class:`BucketRecords`: ``s3://<evidence bucket>/<incident id>/<name>`` (tasks.incident_records),
  chosen when the catalog names an evidence bucket for the service.

The local directory is always written as well (the timeline after every entry, with its head
sidecar); with a bucket, the timeline is also written to it after every entry
(:func:`share_timeline`), so a host that dies mid-incident leaves its timeline readable by the
next one up to the last entry it wrote.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from alerts.models import Alert
from flows.chain import ChainHead
from flows.settings import RunSettings
from flows.timeline import Timeline, head_path
from tasks.aws import AwsTarget
from tasks.catalog import CatalogError, ServiceEnvironment
from tasks.incident_records import (
    IncidentRecordError,
    check_versioned,
    get_incident_record,
    list_incident_ids,
    list_record_versions,
    store_incident_record,
)

log = logging.getLogger(__name__)

TIMELINE, REPORT, METRICS = "timeline.json", "report.json", "metrics.json"
CONTENT_TYPES = {".json": "application/json", ".png": "image/png", ".md": "text/markdown"}
HEAD_LENGTH, HEAD_HASH, HEAD_SIGNATURE = "chain-length", "chain-head", "chain-signature"  # S3 metadata


class IncidentRecords(Protocol):
    """Where incident records are read from and written to."""

    where: str

    def incident_ids(self) -> list[str]: ...

    def read(self, incident_id: str, name: str) -> bytes | None:
        """The record's bytes, or None when the incident has no such record."""
        ...

    def head(self, incident_id: str) -> ChainHead | None:
        """The timeline's chain head as stored beside it (sidecar or object metadata)."""
        ...

    def write(self, incident_id: str, name: str, body: bytes, *, head: ChainHead | None = None) -> None: ...


class LocalRecords:
    """An incidents directory: one sub-directory per incident."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def incident_ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def read(self, incident_id: str, name: str) -> bytes | None:
        path = self.root / incident_id / name
        return path.read_bytes() if path.is_file() else None

    def head(self, incident_id: str) -> ChainHead | None:
        path = head_path(self.root / incident_id / TIMELINE)
        if not path.is_file():
            return None
        return ChainHead.model_validate_json(path.read_bytes()).model_copy(update={"source": path.name})

    def write(self, incident_id: str, name: str, body: bytes, *, head: ChainHead | None = None) -> None:
        path = self.root / incident_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


class BucketRecords:
    """The evidence bucket: one folder per incident; versioning is checked on the first write."""

    def __init__(self, bucket: str, aws: AwsTarget) -> None:
        self.bucket, self.aws = bucket, aws
        self.where = f"s3://{bucket}"
        self._versioned = False

    def incident_ids(self) -> list[str]:
        return list_incident_ids(bucket=self.bucket, aws=self.aws)

    def read(self, incident_id: str, name: str) -> bytes | None:
        found = get_incident_record(bucket=self.bucket, incident_id=incident_id, name=name, aws=self.aws)
        return found.body if found else None

    def head(self, incident_id: str) -> ChainHead | None:
        found = get_incident_record(bucket=self.bucket, incident_id=incident_id, name=TIMELINE, aws=self.aws)
        return None if found is None else _metadata_head(found.metadata, f"{found.uri} metadata")

    def version_heads(self, incident_id: str) -> list[ChainHead]:
        """The head in the metadata of every stored version of the timeline (S3 versioning): a
        newest version put back from an older, shorter copy disagrees with the versions after
        that copy (a missing tail)."""
        versions = list_record_versions(
            bucket=self.bucket, incident_id=incident_id, name=TIMELINE, aws=self.aws
        )
        heads = [_metadata_head(v.metadata, f"{v.uri} version {v.version_id}") for v in versions]
        return [h for h in heads if h is not None]

    def write(self, incident_id: str, name: str, body: bytes, *, head: ChainHead | None = None) -> None:
        if not self._versioned:
            check_versioned(bucket=self.bucket, aws=self.aws)
            self._versioned = True
        meta = {HEAD_HASH: head.hash, HEAD_LENGTH: str(head.length)} if head else {}
        if head is not None and head.signature:
            meta[HEAD_SIGNATURE] = head.signature
        store_incident_record(
            bucket=self.bucket, incident_id=incident_id, name=name, body=body,
            content_type=CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream"), metadata=meta,
            aws=self.aws,
        )  # fmt: skip


def _metadata_head(meta: dict[str, str], source: str) -> ChainHead | None:
    if HEAD_HASH not in meta:
        return None
    return ChainHead(
        length=int(meta[HEAD_LENGTH]),
        hash=meta[HEAD_HASH],
        signature=meta.get(HEAD_SIGNATURE, ""),
        source=source,
    )


def records_for(settings: RunSettings, entry: ServiceEnvironment | None) -> IncidentRecords:
    """The bucket when the catalog names one for the service (records from every host), else
    the local directory."""
    if entry is not None and entry.evidence_bucket:
        return BucketRecords(entry.evidence_bucket, settings.aws(entry.primary_region))
    return LocalRecords(Path(settings.output_dir))


def entry_for(settings: RunSettings, alert: Alert) -> ServiceEnvironment | None:
    """The alert's catalog entry, or None when it names none (its records stay local)."""
    if not alert.routable:
        return None
    try:
        return settings.catalog().entry(alert.service or "", alert.environment or "")
    except CatalogError:
        return None


def every_store(settings: RunSettings) -> list[IncidentRecords]:
    """Every store a deployment writes to: each evidence bucket of its catalog, then the local
    directory. Used where only the incident id is known (``recover``)."""
    entries = [e for envs in settings.catalog().services.values() for e in envs.values()]
    buckets = {e.evidence_bucket: e.primary_region for e in entries if e.evidence_bucket}
    stores: list[IncidentRecords] = [BucketRecords(b, settings.aws(r)) for b, r in sorted(buckets.items())]
    return [*stores, LocalRecords(Path(settings.output_dir))]


def newer(local: Timeline | None, stored: Timeline | None) -> Timeline | None:
    """The longer of two copies of one timeline (the local one on a tie): a host whose shared
    write failed still has every entry locally, and another host's entries are only shared."""
    if stored is None or (local is not None and len(local.entries) >= len(stored.entries)):
        return local
    return stored


def share_timeline(timeline: Timeline, store: IncidentRecords) -> None:
    """Write ``timeline`` to ``store`` after every entry from now on (its head in the metadata).
    A failed write is logged, not raised: the local copy has the entry and the report writes
    every record again."""

    def write(t: Timeline) -> None:
        try:
            store.write(t.incident_id, TIMELINE, t.model_dump_json(indent=2).encode(), head=t.head)
        except IncidentRecordError as e:
            log.warning("timeline of %s not shared to %s: %s", t.incident_id, store.where, e)

    if not isinstance(store, LocalRecords):  # the timeline writes its own local file
        timeline.mirror(write)


def open_shared_timeline(settings: RunSettings, incident_id: str, store: IncidentRecords) -> Timeline:
    """The incident's timeline from the local directory or ``store``, whichever holds more
    entries (a new one when neither has it), kept at the local path and shared to ``store``
    after every entry. An unreadable store is logged and the local copy continued."""
    path = settings.incident_dir(incident_id) / TIMELINE
    try:
        found = _load(settings, incident_id, store)
    except IncidentRecordError as e:  # the run goes on with the local copy; the report re-shares
        log.warning("timeline of %s not read from %s, local one continued: %s", incident_id, store.where, e)
        found = Timeline.load(path) if path.exists() else None
    timeline = found or Timeline(incident_id=incident_id, path=path)
    share_timeline(timeline, store)
    return timeline


def find_timeline(settings: RunSettings, incident_id: str) -> tuple[Timeline, IncidentRecords] | None:
    """The incident's timeline from the first store that has it (see :func:`every_store`),
    continued at the local path and shared back to that store; None when no store has it."""
    for store in every_store(settings):
        timeline = _load(settings, incident_id, store)
        if timeline is not None:
            share_timeline(timeline, store)
            return timeline, store
    return None


def _load(settings: RunSettings, incident_id: str, store: IncidentRecords) -> Timeline | None:
    path = settings.incident_dir(incident_id) / TIMELINE
    local = Timeline.load(path) if path.exists() else None
    body = None if isinstance(store, LocalRecords) else store.read(incident_id, TIMELINE)
    stored = Timeline.model_validate_json(body).model_copy(update={"path": path}) if body else None
    return newer(local, stored)
