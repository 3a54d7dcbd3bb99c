"""Suggest policy changes from outcomes: where automation earned more room, or less. Pure.

Reads production reports only (drill records never count) and proposes, never applies:

- **automate**: an action kind, per service and environment, that went to approval and was
  approved, applied and verified every time, at least ``min_approved`` times, with every
  approval of those incidents answered within ``max_wait_s``: a rule making it automated for
  that service and environment only, placed before the rule that asked for approval. The
  guardrails (blast-radius caps, rate limits, freezes, the kill switch) still apply to it.
- **require approval**: an automated kind that did not verify (the signal did not recover),
  failed to apply, or was halted by a person's kill switch, at least ``min_failures`` times.
  (Undoing a measure in ``recover`` is the planned end of a measure, not a failure, and is
  not counted.)
- **review alarm**: an alarm with at least ``min_alarm_incidents`` incidents whose precision
  (flows.stats, as ``firebreak incidents stats --by alarm``) is below ``min_precision``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from flows.report import IncidentReport, MitigationRecord, MitigationStatus
from flows.stats import GroupBy, stats_by
from policies import Tier


class Thresholds(BaseModel):
    """The flags of ``firebreak policy suggest``, with their defaults."""

    min_approved: int = Field(default=3, ge=1, description="Approved and verified at least this many times.")
    max_wait_s: float = Field(default=300.0, gt=0, description="Every approval answered within this.")
    min_failures: int = Field(default=1, ge=1, description="Automated and failed at least this many times.")
    min_alarm_incidents: int = Field(default=3, ge=1, description="Alarms with at least this many incidents.")
    min_precision: float = Field(default=0.5, ge=0, le=1, description="Review alarms confirmed less often.")


class SuggestionKind(StrEnum):
    AUTOMATE = "automate"
    REQUIRE_APPROVAL = "require approval"
    REVIEW_ALARM = "review alarm"


class Suggestion(BaseModel):
    """One proposed change: the policy lines to add, and the incidents behind them."""

    kind: SuggestionKind
    subject: str = Field(description="'kind service/environment', or the alarm.")
    diff: list[str] = Field(description="Policy YAML lines, '+' to add; '#' lines are advice.")
    evidence: list[str]


class Suggestions(BaseModel):
    counted: int = Field(description="Production incidents read.")
    drills_ignored: int
    suggestions: list[Suggestion] = Field(default_factory=list)


def suggest(reports: Sequence[IncidentReport], thresholds: Thresholds) -> Suggestions:
    """Every suggestion the production reports among ``reports`` support, automate first."""
    real = [r for r in reports if not r.drill]
    found = Suggestions(counted=len(real), drills_ignored=len(reports) - len(real))
    groups: dict[tuple[str, str, str], list[tuple[IncidentReport, MitigationRecord]]] = {}
    for r in real:
        for m in r.mitigations:
            groups.setdefault((m.kind, r.service or "-", r.environment or "-"), []).append((r, m))
    for key, tried in sorted(groups.items()):
        asked = [(r, m) for r, m in tried if m.tier == Tier.APPROVAL.value]
        automated = [(r, m) for r, m in tried if m.tier == Tier.AUTOMATED.value]
        found.suggestions += _automate(key, asked, thresholds) + _require_approval(key, automated, thresholds)
    found.suggestions += _review_alarms(real, thresholds)
    return found


def _subject(key: tuple[str, str, str]) -> str:
    return f"{key[0]} {key[1]}/{key[2]}"


def _rule(name: str, key: tuple[str, str, str], tier: Tier, reason: str, before: str) -> list[str]:
    kind, service, environment = key
    return [
        f"# rules: insert before rule {before!r}",
        f"+  - name: {name}-{kind.replace('.', '-')}-{service}-{environment}",
        f"+    actions: [{kind}]",
        f"+    services: [{service}]",
        f"+    environments: [{environment}]",
        f"+    tier: {tier.value}",
        f"+    reason: {reason}",
    ]


def _automate(
    key: tuple[str, str, str], asked: list[tuple[IncidentReport, MitigationRecord]], t: Thresholds
) -> list[Suggestion]:
    def earned(r: IncidentReport, m: MitigationRecord) -> bool:
        quick = bool(r.approval_waits_s) and max(r.approval_waits_s) <= t.max_wait_s
        return m.status is MitigationStatus.APPLIED and m.verified is True and quick

    if len(asked) < t.min_approved or not all(earned(r, m) for r, m in asked):
        return []
    slowest = max(w for r, _ in asked for w in r.approval_waits_s)
    reason = (
        f"approved, applied and verified {len(asked)} of {len(asked)} times, every approval within "
        f"{slowest:g} s (firebreak policy suggest); the guardrails' caps and rate limits still apply"
    )
    evidence = [
        f"{r.incident_id}: approved by {', '.join(m.people) or '?'}, verified; "
        f"the incident's slowest approval took {max(r.approval_waits_s):g} s"
        for r, m in asked
    ]
    diff = _rule("earned", key, Tier.AUTOMATED, reason, asked[0][1].rule)
    return [Suggestion(kind=SuggestionKind.AUTOMATE, subject=_subject(key), diff=diff, evidence=evidence)]


def _failure(r: IncidentReport, m: MitigationRecord) -> str | None:
    if m.status is MitigationStatus.HALTED:
        return f"{r.incident_id}: halted by the kill switch (a person stopped it)"
    if m.status is MitigationStatus.FAILED:
        return f"{r.incident_id}: failed to apply: {m.detail or '-'}"
    if m.status.in_effect and m.verified is False:
        return f"{r.incident_id}: applied, the signal did not recover"
    return None


def _require_approval(
    key: tuple[str, str, str], automated: list[tuple[IncidentReport, MitigationRecord]], t: Thresholds
) -> list[Suggestion]:
    failures = [line for r, m in automated if (line := _failure(r, m)) is not None]
    if len(failures) < t.min_failures:
        return []
    reason = f"automated {len(automated)} times, {len(failures)} failed (firebreak policy suggest)"
    diff = [
        *_rule("needs-approval", key, Tier.APPROVAL, reason, automated[0][1].rule),
        "# and an approval rule that selects it (else it is denied): check with `firebreak policy explain`",
    ]
    return [
        Suggestion(kind=SuggestionKind.REQUIRE_APPROVAL, subject=_subject(key), diff=diff, evidence=failures)
    ]


def _review_alarms(reports: Sequence[IncidentReport], t: Thresholds) -> list[Suggestion]:
    found = []
    for row in stats_by(reports, GroupBy.ALARM):
        if row.incidents < t.min_alarm_incidents or row.precision is None or row.precision >= t.min_precision:
            continue
        missed = [r.incident_id for r in reports if r.alert_name == row.key and r.detected_at is None]
        counts = f"confirmed {row.confirmed} of {row.incidents} (precision {row.precision:g})"
        line = f"# review alarm {row.key}: {counts}"
        found.append(
            Suggestion(
                kind=SuggestionKind.REVIEW_ALARM,
                subject=row.key,
                diff=[line],
                evidence=[f"not confirmed: {', '.join(missed)}"],
            )
        )
    return found
