"""The rows of ``firebreak incidents list``: a narrow table that reads in 80 columns, and the
wide one (``--wide``, ``--json``, ``--csv``) with every field whole.

Narrow: the id without the tail of its digest (``INC-20261120-1000-3f2a9c0d``: onset minute and
the first 8 of its 32 hex digits; ``incidents show`` takes any unique prefix) over the onset
(UTC), the service over the environment, the outcome over the severity (and ``drill``), and
each mitigation as ``kind status`` on its own line: the longest of these words (a 26-character
id, a 23-character kind) fit side by side in 80 columns, and the rest wraps at spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from flows.report import IncidentReport

# flows.incident_run.incident_id: INC-<YYYYMMDD-HHMM UTC>-<32 hex digits>
_NEW_ID = re.compile(r"^(INC-\d{8}-\d{4}-[0-9a-f]{8})[0-9a-f]{24}$")
NARROW_NOTE = (
    "Onset in UTC. Ids show the first 8 of their 32 hex digits (`incidents show` takes any unique "
    "prefix); --wide or --json for every field in full."
)


def short_id(incident_id: str) -> str:
    """The id up to the 8th hex digit of its digest; an id of another form is returned whole."""
    found = _NEW_ID.match(incident_id)
    return found.group(1) if found else incident_id


def narrow_rows(reports: Sequence[IncidentReport]) -> list[dict[str, str]]:
    """One row per incident in four columns whose words are short enough to sit side by side in
    80 columns: the short id over the onset, the service over the environment, the outcome over
    the severity (and ``drill``, and each region's outcome when there are several), and each
    mitigation on its own line."""
    return [
        {
            "incident / onset": f"{short_id(r.incident_id)}\n{r.started_at.astimezone(UTC):%Y-%m-%d %H:%M}",
            "service": f"{r.service or '-'}\n{r.environment or '-'}",
            "outcome": "\n".join(
                [
                    r.outcome.value.replace("_", " "),
                    r.severity or "sev -",
                    *(["drill"] if r.drill else []),
                    *region_lines(r),
                ]
            ),
            "mitigations": "\n".join(f"{m.kind} {m.status.value.replace('_', ' ')}" for m in r.mitigations)
            or "-",
        }
        for r in reports
    ]


def wide_rows(reports: Sequence[IncidentReport]) -> list[dict[str, Any]]:
    """One row per incident with every field whole (``--wide``, ``--json``, ``--csv``)."""
    return [
        {
            "id": r.incident_id,
            "onset": r.started_at.isoformat(),
            "service": r.service,
            "env": r.environment,
            "alarm": r.alert_name,
            "severity": r.severity,
            "outcome": r.outcome.value,
            "mitigations": ", ".join(f"{m.kind}:{m.status.value}" for m in r.mitigations),
            "regions": ", ".join(f"{o.region}:{o.status.value}" for o in r.regions),
            "drill": r.drill,
        }
        for r in reports
    ]


def region_lines(report: IncidentReport) -> list[str]:
    """``us-east-1 recovered`` per affected region, when the incident had more than one."""
    if len(report.regions) < 2:
        return []
    return [f"{o.region} {o.status.value.replace('_', ' ')}" for o in report.regions]


def by_prefix(reports: Sequence[IncidentReport], prefix: str) -> list[IncidentReport]:
    """The report whose id is ``prefix``, else every report whose id starts with it."""
    exact = [r for r in reports if r.incident_id == prefix]
    return exact or [r for r in reports if r.incident_id.startswith(prefix)]
