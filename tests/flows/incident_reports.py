"""Five hand-made incident reports (four drills, one real) for the history, stats and ranking
tests. The expected numbers in those tests are worked out by hand from the values here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.report import IncidentReport, MitigationRecord, MitigationStatus, Outcome

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ALARM = "checkout-errors-eu-west-1"


def _mitigation(kind: str, status: MitigationStatus, verified: bool | None, *people: str) -> MitigationRecord:
    return MitigationRecord(
        hypothesis=kind, kind=kind, tier="approval", rule="r", status=status, verified=verified,
        people=list(people),
    )  # fmt: skip


def _report(
    incident_id: str, day: int, *, service: str = "checkout", alarm: str = ALARM, drill: bool = True,
    detected: int | None, mitigated: int | None = None, recovered: int | None = None,
    hypotheses: list[str], mitigations: list[MitigationRecord], waits: list[float],
) -> IncidentReport:  # fmt: skip
    onset = T0 + timedelta(days=day)

    def at(seconds: int | None) -> datetime | None:
        return None if seconds is None else onset + timedelta(seconds=seconds)

    return IncidentReport(
        incident_id=incident_id, service=service, environment="prod", region="eu-west-1", alert_name=alarm,
        outcome=Outcome.MITIGATED if recovered else Outcome.NOT_MITIGATED, message="", started_at=onset,
        detected_at=at(detected), first_mitigation_at=at(mitigated), recovered_at=at(recovered),
        hypotheses=hypotheses, mitigations=mitigations, approval_waits_s=waits, drill=drill,
        timeline_path=f"{incident_id}/timeline.json",
    )  # fmt: skip


APPLIED = MitigationStatus.APPLIED
REPORTS = [
    _report("INC-A", 0, detected=30, mitigated=90, recovered=150, hypotheses=["rollback", "shift_traffic"],
            mitigations=[_mitigation("rollback.ecs", APPLIED, True, "alice")], waits=[40]),
    _report("INC-B", 1, detected=20, mitigated=60, recovered=300, hypotheses=["rollback", "shift_traffic"],
            mitigations=[_mitigation("rollback.ecs", APPLIED, False, "bob"),
                         _mitigation("traffic.shift.route53", APPLIED, True)], waits=[10, 50]),
    _report("INC-C", 2, detected=None, hypotheses=[], mitigations=[], waits=[]),
    _report("INC-D", 3, service="payments", alarm="payments-latency", detected=10, mitigated=40,
            recovered=100, hypotheses=["disable_flag"],
            mitigations=[_mitigation("flags.disable.ssm", APPLIED, True)], waits=[]),
    _report("INC-E", 4, drill=False, detected=60, hypotheses=["rollback"],
            mitigations=[_mitigation("rollback.ecs", MitigationStatus.DENIED, None)], waits=[]),
]  # fmt: skip


def write_reports(root: Path) -> Path:
    """The reports as an incidents directory (one sub-directory each), plus a running incident
    (a timeline, no report yet) and one with a broken report."""
    for report in REPORTS:
        (root / report.incident_id).mkdir(parents=True)
        (root / report.incident_id / "report.json").write_text(report.model_dump_json())
    (root / "INC-RUNNING").mkdir()
    (root / "INC-RUNNING" / "timeline.json").write_text("{}")
    (root / "INC-BROKEN").mkdir()
    (root / "INC-BROKEN" / "report.json").write_text('{"incident_id": "INC-BROKEN"}')
    return root
