"""flows.resolve's last resorts: the maintenance page only after candidates were tried for real and
the key metric is still beyond the outage threshold (read back from moto); the human checklist
names what only a person can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.models import Alert
from flows.diagnosis import Hypothesis, HypothesisKind
from flows.diagnosis.outage import beyond_outage
from flows.incident_run import IncidentRun
from flows.report import MitigationRecord, MitigationStatus
from flows.resolve import human_evidence, human_steps, maintenance_candidate
from flows.settings import RunSettings
from flows.timeline import Timeline
from policies import Severity, default_policy
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, Comparison, MetricSpec, RegionResources, ServiceEnvironment
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client

ERRORS = MetricSpec(name="error_rate", namespace="Checkout", metric_name="ErrorRate", healthy_threshold=5.0)
SUCCESS = ERRORS.model_copy(update={"healthy_when": Comparison.ABOVE, "healthy_threshold": 95.0})
FAILED = MitigationRecord(
    hypothesis="roll back", kind="rollback.ecs", tier="approval", rule="r", status=MitigationStatus.REJECTED,
    detail="rejected by alice",
)  # fmt: skip


def _run(tmp_path: Path, *, outage_threshold: float | None = 50.0) -> IncidentRun:
    listener = seed.seed_alb(EAST, {"blue": 100})
    entry = ServiceEnvironment(
        primary_region=EAST,
        regions={EAST: RegionResources(alb=listener, metrics=[ERRORS])},
        outage_threshold=outage_threshold,
    )
    alert = Alert(
        source="test", fingerprint="t", service=SERVICE, environment=ENV, region=EAST, name="ErrorRate",
        starts_at=datetime.now(UTC),
    )  # fmt: skip
    return IncidentRun(
        incident_id="INC-test",
        alert=alert,
        settings=RunSettings(),
        catalog=Catalog(services={SERVICE: {ENV: entry}}),
        entry=entry,
        policy=default_policy(),
        timeline=Timeline(incident_id="INC-test", path=tmp_path / "timeline.json"),
        severity=Severity.SEV_1,
    )


def _error_rate(value: float) -> None:
    raw_client("cloudwatch", EAST).put_metric_data(
        Namespace="Checkout",
        MetricData=[
            {
                "MetricName": "ErrorRate",
                "Timestamp": datetime.now(UTC) - timedelta(seconds=60),
                "Value": value,
            }
        ],
    )


def test_after_every_candidate_failed_a_hard_outage_gets_the_maintenance_page(
    aws: AwsTarget, tmp_path: Path
) -> None:
    run = _run(tmp_path)
    _error_rate(80.0)
    last = maintenance_candidate(run, [FAILED])
    assert last is not None and (last.kind, last.region) == (HypothesisKind.MAINTENANCE, EAST)
    assert "tried rollback.ecs: rejected" in last.evidence


def test_below_the_outage_threshold_there_is_no_maintenance_page(aws: AwsTarget, tmp_path: Path) -> None:
    run = _run(tmp_path)
    _error_rate(20.0)  # unhealthy, but users are not all turned away
    assert maintenance_candidate(run, [FAILED]) is None
    [entry] = run.timeline.events("no-maintenance")
    assert "20.0, not beyond the outage threshold 50.0" in entry.message


def test_maintenance_is_never_first_nor_without_a_threshold(aws: AwsTarget, tmp_path: Path) -> None:
    _error_rate(80.0)
    run = _run(tmp_path)
    assert maintenance_candidate(run, []) is None  # nothing was tried
    entry = run.entry.model_copy(update={"outage_threshold": None})
    run.entry = entry
    assert maintenance_candidate(run, [FAILED]) is None


def test_beyond_the_outage_threshold_follows_the_metrics_direction() -> None:
    assert beyond_outage(ERRORS, 50.0, 50.0) and not beyond_outage(ERRORS, 49.9, 50.0)
    assert beyond_outage(SUCCESS, 10.0, 20.0) and not beyond_outage(SUCCESS, 30.0, 20.0)
    assert not beyond_outage(ERRORS, None, 50.0) and not beyond_outage(ERRORS, 99.0, None)


def test_the_checklist_names_what_only_a_person_can_do() -> None:
    change = Hypothesis(
        kind=HypothesisKind.CONFIG_CHANGE, score=0.6, summary="bob changed the listener",
        checklist=["Review ModifyListener by bob on arn:listener"],
    )  # fmt: skip
    rollback = Hypothesis(
        kind=HypothesisKind.ROLLBACK, score=0.9, summary="roll back", checklist=["not a step"]
    )
    steps = human_steps([rollback, change], [FAILED])
    assert steps[:2] == [
        "Review ModifyListener by bob on arn:listener",
        "Not done by Firebreak (rollback.ecs: rejected: rejected by alice): decide it by hand",
    ]
    assert "not a step" not in steps


def test_the_human_sees_what_the_person_only_hypotheses_saw() -> None:
    escalate = Hypothesis(
        kind=HypothesisKind.ESCALATE, score=0.1, summary="nobody knows",
        evidence=["unhealthy regions: us-east-1", "log errors in us-east-1: 9x ERROR db timeout"],
    )  # fmt: skip
    rollback = Hypothesis(kind=HypothesisKind.ROLLBACK, score=0.9, summary="roll back", evidence=["deploy"])
    lines = human_evidence([rollback, escalate], ["unhealthy regions: us-east-1"])
    assert lines == [
        "unhealthy regions: us-east-1",
        "log errors in us-east-1: 9x ERROR db timeout",
    ]
