"""What an incident's diagnosis saw, kept with its records so that it can be replayed.

Two records sit beside ``timeline.json`` (locally, and in the bucket when the report shares the
records there, flows.history):

- ``evidence.json``: the evidence bundle the diagnosis read (:class:`tasks.evidence.EvidenceBundle`);
- ``diagnosis.json``: the other inputs of :func:`flows.diagnosis.diagnose`: the catalog entry it
  ran with, Firebreak's own earlier changes and the region the alert named
  (:class:`DiagnosisInputs`).

Each policy decision's request and context are in its ``decision`` timeline entry
(flows.execute). :func:`read_incident` reads all of it back for ``firebreak replay`` and says,
for records written before these were kept, exactly which are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.own_changes import OwnChange
from flows.records import TIMELINE, IncidentRecords
from flows.report import IncidentReport
from flows.timeline import Timeline
from tasks.catalog import ServiceEnvironment
from tasks.evidence import EvidenceBundle

EVIDENCE, DIAGNOSIS = "evidence.json", "diagnosis.json"
_Record = TypeVar("_Record", bound=BaseModel)


class DiagnosisInputs(BaseModel):
    """Everything :func:`flows.diagnosis.diagnose` was given besides the bundle."""

    model_config = ConfigDict(frozen=True)

    entry: ServiceEnvironment = Field(description="The catalog entry the incident ran with.")
    own: list[OwnChange] = Field(default_factory=list, description="Firebreak's earlier changes.")
    alerted_region: str | None = None


class IncidentRecordsForReplay(BaseModel):
    """One incident's records as replay needs them; None where a record is missing."""

    report: IncidentReport
    timeline: Timeline | None = None
    bundle: EvidenceBundle | None = None
    inputs: DiagnosisInputs | None = None
    lacks: list[str] = Field(default_factory=list, description="What is missing or unreadable, and why.")


def keep_diagnosis_inputs(directory: Path, bundle: EvidenceBundle, inputs: DiagnosisInputs) -> None:
    """Write ``evidence.json`` and ``diagnosis.json`` into the incident's directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / EVIDENCE).write_text(bundle.model_dump_json(indent=1))
    (directory / DIAGNOSIS).write_text(inputs.model_dump_json(indent=1))


def read_incident(reader: IncidentRecords, report: IncidentReport) -> IncidentRecordsForReplay:
    """The incident's timeline, bundle and diagnosis inputs, each None (and named in ``lacks``)
    when missing or unreadable. An incident that was never diagnosed (not confirmed) has no
    bundle and lacks nothing for it. Raises what the reader raises for an unreadable store."""
    lacks: list[str] = []

    def read(name: str, model: type[_Record], *, expected: bool = True) -> _Record | None:
        body = reader.read(report.incident_id, name)
        if body is None:
            if expected:
                lacks.append(f"no {name}" + ("" if name == TIMELINE else " (kept since replay was added)"))
            return None
        try:
            return model.model_validate_json(body)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            lacks.append(f"{name}: {e.error_count()} invalid field(s), first {where}: {first['msg']}")
            return None

    return IncidentRecordsForReplay(
        report=report,
        timeline=read(TIMELINE, Timeline),
        bundle=read(EVIDENCE, EvidenceBundle, expected=bool(report.hypotheses)),
        inputs=read(DIAGNOSIS, DiagnosisInputs, expected=bool(report.hypotheses)),
        lacks=lacks,
    )
