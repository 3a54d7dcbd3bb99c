"""The incident timeline: the audit log of everything Firebreak decided and did.

Every stage appends an entry: what was decided, by which rule or person, the plan it acted on,
AWS request ids, before and after. The timeline is written to disk after every append, so a
crashed worker leaves a complete record up to the last step, and it is published as Prefect
artifacts at the end (a table and a markdown summary) for people reading the run in the UI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field


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


class Timeline(BaseModel):
    """An incident's ordered entries, persisted to ``path`` on every append."""

    incident_id: str
    path: Path
    entries: list[Entry] = Field(default_factory=list)

    def add(self, stage: Stage, event: str, message: str, *, actor: str = "firebreak", **data: Any) -> Entry:
        """Append an entry and write the whole timeline to disk (atomically)."""
        entry = Entry(stage=stage, event=event, message=message, actor=actor, data=data)
        self.entries.append(entry)
        self.save()
        return entry

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(self.path)

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
        worker, a retried run): the audit log is appended to, never overwritten."""
        return cls.load(path) if path.exists() else cls(incident_id=incident_id, path=path)
