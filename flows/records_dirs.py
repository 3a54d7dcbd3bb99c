"""Which incidents directories a ``--dir`` names: an incidents directory, a scenario's drill
output, or a whole drill output.

The layouts (see ``drills/run_settings.py`` and ``firebreak drill run --output``)::

    DRILL_OUTPUT/                      a drill's output: one directory per scenario
      <scenario>/                      a scenario's output
        incidents/                     an incidents directory (RunSettings.output_dir)
          INC-.../timeline.json        one incident: its records (flows.records)

Example::

    incidents_dirs(Path("drill-output"))            # [drill-output/checkout-latency/incidents, ...]
    incidents_dirs(Path("drill-output/checkout-latency"))  # [.../checkout-latency/incidents]
    incidents_dirs(Path(".firebreak/incidents"))    # [.firebreak/incidents]

:class:`LocalDirs` reads the directories found as one store (``firebreak incidents --dir``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flows.chain import ChainHead
from flows.records import LocalRecords

INCIDENTS = "incidents"
RECORD_NAMES = ("timeline.json", "report.json")  # flows.records.TIMELINE, REPORT


class IncidentsDirError(ValueError):
    """A path is not (and holds no) incidents directory; the message says what was looked for."""


def incidents_dirs(path: Path) -> list[Path]:
    """The incidents directories ``path`` names, sorted, checked in this order:

    1. ``path/incidents`` is a directory: ``path`` is a scenario's output, answer ``[path/incidents]``;
    2. some ``path/<child>/incidents`` are directories: ``path`` is a drill's output, answer
       each of them (sorted by scenario name);
    3. ``path`` is empty, or some sub-directory of it holds ``timeline.json`` or ``report.json``
       (an incident's records): ``path`` is an incidents directory, answer ``[path]``.

    Raises :class:`IncidentsDirError` when ``path`` does not exist, is not a directory, or is
    none of the above (e.g. a directory of unrelated files), rather than answering ``[]``.
    """
    if not path.exists():
        raise IncidentsDirError(f"{path}: no such directory")
    if not path.is_dir():
        raise IncidentsDirError(f"{path}: not a directory")
    if (path / INCIDENTS).is_dir():
        return [path / INCIDENTS]
    children = sorted(p for p in path.iterdir() if p.is_dir())
    scenarios = [c / INCIDENTS for c in children if (c / INCIDENTS).is_dir()]
    if scenarios:
        return scenarios
    if not any(path.iterdir()) or any(_is_incident(c) for c in children):
        return [path]
    raise IncidentsDirError(
        f"{path}: neither an incidents directory (sub-directories holding {' or '.join(RECORD_NAMES)}), "
        f"a scenario's output (holding {INCIDENTS}/) nor a drill's output (<scenario>/{INCIDENTS}/)"
    )


def _is_incident(directory: Path) -> bool:
    return any((directory / name).is_file() for name in RECORD_NAMES)


class LocalDirs:
    """Several incidents directories as one :class:`~flows.records.IncidentRecords` store (every
    scenario of a drill's output): an incident is read from, and written to, the first directory
    holding it; a new incident goes to the first directory."""

    def __init__(self, roots: Sequence[Path]) -> None:
        if not roots:
            raise IncidentsDirError("no incidents directory given")
        self.stores = [LocalRecords(root) for root in roots]
        self.where = ", ".join(s.where for s in self.stores)

    def incident_ids(self) -> list[str]:
        return sorted({i for store in self.stores for i in store.incident_ids()})

    def _holding(self, incident_id: str) -> LocalRecords:
        return next((s for s in self.stores if (s.root / incident_id).is_dir()), self.stores[0])

    def read(self, incident_id: str, name: str) -> bytes | None:
        return self._holding(incident_id).read(incident_id, name)

    def head(self, incident_id: str) -> ChainHead | None:
        return self._holding(incident_id).head(incident_id)

    def write(self, incident_id: str, name: str, body: bytes, *, head: ChainHead | None = None) -> None:
        self._holding(incident_id).write(incident_id, name, body, head=head)
