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
"""

from __future__ import annotations

from pathlib import Path

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
