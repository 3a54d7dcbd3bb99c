"""Outcome statistics over the incident history. Pure: reports in, numbers out.

The definitions are ``DEFINITIONS`` below: printed under every table and written in
docs/history.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel

from flows.diagnosis import HypothesisKind
from flows.report import IncidentReport, MitigationRecord

DEFINITIONS = """\
- **MTTD**: alert onset (the alert's ``starts_at``) to confirmation by a second source (the
  metric in CloudWatch); confirmed incidents only.
- **TTFM** (time to first mitigation): onset to the first change Firebreak applied.
- **MTTR**: onset to the moment the signal was verified recovered after a mitigation.
- **Approval wait**: each approval request to its final answer (approved, rejected, timed out).
- Durations are medians; **p90** is the nearest-rank 90th percentile (the smallest value with at
  least 90 % of the values at or below it). ``-`` means no incident had that moment.
- **Success rate** of a mitigation kind: verified / in effect (applied, or already as wanted).
- **Hypothesis right**: incidents where a mitigation of that hypothesis verified / incidents
  where it was proposed.
- **Alarm precision**: incidents of the alarm that were confirmed / all its incidents (a
  false positive is an alert the metric did not confirm).
"""


class GroupBy(StrEnum):
    SERVICE = "service"
    KIND = "kind"
    ALARM = "alarm"


class GroupStats(BaseModel):
    """One row of ``firebreak incidents stats``."""

    key: str
    incidents: int
    confirmed: int
    precision: float | None
    mttd_s: float | None
    ttfm_s: float | None
    mttr_median_s: float | None
    mttr_p90_s: float | None
    approval_wait_s: float | None
    mitigations: int
    in_effect: int
    verified: int
    success_rate: float | None


class HypothesisStats(BaseModel):
    kind: str
    proposed: int
    ranked_first: int
    right: int
    right_rate: float | None


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _durations(reports: Iterable[IncidentReport], name: str) -> list[float]:
    return [d for r in reports if (d := r.durations()[name]) is not None]


def group_stats(
    key: str, reports: Sequence[IncidentReport], records: Sequence[MitigationRecord]
) -> GroupStats:
    """Counts and durations of ``reports``; mitigation counts of ``records`` (theirs, or one kind's)."""
    confirmed = sum(r.detected_at is not None for r in reports)
    mttr = _durations(reports, "time_to_recovery_s")
    in_effect = [m for m in records if m.status.in_effect]
    verified = sum(m.verified is True for m in in_effect)
    return GroupStats(
        key=key,
        incidents=len(reports),
        confirmed=confirmed,
        precision=_rate(confirmed, len(reports)),
        mttd_s=median(_durations(reports, "time_to_detect_s")),
        ttfm_s=median(_durations(reports, "time_to_first_mitigation_s")),
        mttr_median_s=median(mttr),
        mttr_p90_s=p90(mttr),
        approval_wait_s=median([w for r in reports for w in r.approval_waits_s]),
        mitigations=len(records),
        in_effect=len(in_effect),
        verified=verified,
        success_rate=_rate(verified, len(in_effect)),
    )


def _grouped(reports: Sequence[IncidentReport], key: Callable[[IncidentReport], str]) -> list[GroupStats]:
    groups: dict[str, list[IncidentReport]] = {}
    for r in reports:
        groups.setdefault(key(r), []).append(r)
    return [group_stats(k, rs, [m for r in rs for m in r.mitigations]) for k, rs in sorted(groups.items())]


def stats_by(reports: Sequence[IncidentReport], by: GroupBy) -> list[GroupStats]:
    """One row per service, per alarm, or per mitigation kind (the incidents that tried it, and
    that kind's mitigations only)."""
    if by is GroupBy.SERVICE:
        return _grouped(reports, lambda r: r.service or "-")
    if by is GroupBy.ALARM:
        return _grouped(reports, lambda r: r.alert_name)
    kinds = sorted({m.kind for r in reports for m in r.mitigations})
    return [
        group_stats(
            kind,
            [r for r in reports if any(m.kind == kind for m in r.mitigations)],
            [m for r in reports for m in r.mitigations if m.kind == kind],
        )
        for kind in kinds
    ]


def hypothesis_stats(reports: Sequence[IncidentReport]) -> list[HypothesisStats]:
    """How often each hypothesis kind was proposed, ranked first, and right.

    A report's mitigations are its non-escalation hypotheses tried in rank order
    (flows.resolve), so the n-th mitigation belongs to the n-th such hypothesis.
    """
    rows: dict[str, list[int]] = {}
    for r in reports:
        tried = [h for h in r.hypotheses if h != HypothesisKind.ESCALATE.value]
        right = {h for h, m in zip(tried, r.mitigations, strict=False) if m.verified}
        for h in set(r.hypotheses):
            counts = rows.setdefault(h, [0, 0, 0])
            counts[0] += 1
            counts[1] += r.hypotheses[0] == h
            counts[2] += h in right
    return [
        HypothesisStats(kind=k, proposed=p, ranked_first=f, right=ok, right_rate=_rate(ok, p))
        for k, (p, f, ok) in sorted(rows.items())
    ]
