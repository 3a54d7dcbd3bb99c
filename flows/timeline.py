"""The incident timeline: the audit log of everything Firebreak decided and did.

Every stage appends an entry: what was decided, by which rule or person, the plan it acted on,
AWS request ids, before and after. The timeline is written to disk after every append, so a
crashed worker leaves a complete record up to the last step, and it is published as Prefect
artifacts at the end (a table and a markdown summary) for people reading the run in the UI.

Each entry carries the hash of the one before it (flows.chain), anchored in the incident id and
the timeline's start; a re-opened timeline continues the chain. After every append the head
(entry count and last hash, signed by the host's records key: flows.anchor) is also written to
a sidecar file next to the timeline (``timeline.head.json``); the report, its artifact and the
S3 copy record it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr

from flows.anchor import sign_head
from flows.chain import ChainHead, anchor, entry_hash


class Stage(StrEnum):
    DETECT = "detect"
    DIAGNOSE = "diagnose"
    RESOLVE = "resolve"
    VERIFY = "verify"
    RECOVER = "recover"
    REPORT = "report"


class Entry(BaseModel):
    """One line of the audit log."""

    at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    stage: Stage
    event: str = Field(description="Short machine-readable name, e.g. 'decision', 'applied'.")
    message: str = Field(description="What happened, in words a person reads at 3 a.m.")
    actor: str = Field(default="firebreak", description="Rule, approver or 'firebreak'.")
    data: dict[str, Any] = Field(default_factory=dict)
    prev: str = Field(default="", description="Hash of the entry before (or the chain's anchor).")
    hash: str = Field(default="", description="Hash of this entry, prev included (flows.chain).")


class Timeline(BaseModel):
    """An incident's ordered entries, persisted to ``path`` on every append."""

    incident_id: str
    path: Path
    started_at: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When the timeline began: the chain's anchor."
    )
    entries: list[Entry] = Field(default_factory=list)
    _mirrors: list[Callable[[Timeline], None]] = PrivateAttr(default_factory=list)

    def mirror(self, write: Callable[[Timeline], None]) -> None:
        """Call ``write`` with the timeline after every save from now on (flows.records shares
        it to the evidence bucket this way)."""
        self._mirrors.append(write)

    def add(self, stage: Stage, event: str, message: str, *, actor: str = "firebreak", **data: Any) -> Entry:
        """Append an entry linked to the previous one and write the whole timeline to disk
        (atomically), then the head sidecar, then to its mirrors."""
        prev = self.entries[-1].hash if self.entries else anchor(self.incident_id, self.started_at)
        draft = Entry(stage=stage, event=event, message=message, actor=actor, data=data, prev=prev)
        # Hash what the file will hold (JSON round trip), so a reader recomputes the same value.
        entry = draft.model_copy(update={"hash": entry_hash(json.loads(draft.model_dump_json()))})
        self.entries.append(entry)
        self.save()
        return entry

    @property
    def head(self) -> ChainHead:
        """The chain's head now: entry count and the last entry's hash, signed with this host's
        records key when it has one (flows.anchor)."""
        last = self.entries[-1].hash if self.entries else anchor(self.incident_id, self.started_at)
        return sign_head(self.incident_id, ChainHead(length=len(self.entries), hash=last))

    @property
    def head_path(self) -> Path:
        return head_path(self.path)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path, self.model_dump_json(indent=2))
        _write_atomically(self.head_path, self.head.model_dump_json(exclude={"source"}))
        for write in self._mirrors:
            write(self)

    def events(self, event: str) -> list[Entry]:
        return [e for e in self.entries if e.event == event]

    def first(self, event: str) -> Entry | None:
        found = self.events(event)
        return found[0] if found else None

    def table_rows(self) -> list[dict[str, str]]:
        """Rows for a Prefect table artifact."""
        return [
            {
                "at": e.at.strftime("%H:%M:%S"),
                "stage": e.stage.value,
                "event": e.event,
                "actor": e.actor,
                "message": e.message,
            }
            for e in self.entries
        ]

    @classmethod
    def load(cls, path: Path) -> Timeline:
        return cls.model_validate(json.loads(path.read_text()))

    @classmethod
    def open(cls, incident_id: str, path: Path) -> Timeline:
        """The incident's timeline, continued if a record exists (a re-run after a crashed
        worker, a retried run): the audit log is appended to, never overwritten, and the next
        entry links to the last one on disk."""
        return cls.load(path) if path.exists() else cls(incident_id=incident_id, path=path)


def head_path(timeline_path: Path) -> Path:
    """The sidecar holding the chain head written after every entry: ``timeline.head.json``."""
    return timeline_path.with_name(f"{timeline_path.stem}.head.json")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
