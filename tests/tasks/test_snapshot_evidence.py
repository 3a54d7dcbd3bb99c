"""The evidence models and their digest, without AWS; and the catalog example in the docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tasks.catalog import Comparison, MetricSpec, load_catalog
from tasks.evidence import (
    ChangeEvent,
    Datapoint,
    DependencyHealth,
    EvidenceBundle,
    LogLine,
    RegionEvidence,
    SourceError,
)
from tasks.evidence_markdown import MAX_CHANGES

ONSET = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
ERRORS = MetricSpec(name="error_rate", namespace="C", metric_name="5xx", healthy_threshold=1.0)
THROUGHPUT = MetricSpec(
    name="orders", namespace="C", metric_name="Orders", healthy_threshold=10, healthy_when=Comparison.ABOVE
)


def region(name: str, errors: list[float], orders: list[float]) -> RegionEvidence:
    def points(values: list[float]) -> list[Datapoint]:
        return [Datapoint(at=ONSET + timedelta(minutes=i), value=v) for i, v in enumerate(values)]

    return RegionEvidence(
        region=name,
        metric_specs=[ERRORS, THROUGHPUT],
        metrics={"error_rate": points(errors), "orders": points(orders)},
    )


def change(minutes: float, kind: str = "flag") -> ChangeEvent:
    return ChangeEvent.model_validate(
        {"kind": kind, "region": "eu-west-1", "resource": "/f", "at": ONSET + timedelta(minutes=minutes),
         "summary": f"change at {minutes}"}
    )  # fmt: skip


def bundle(changes: list[ChangeEvent] | None = None) -> EvidenceBundle:
    return EvidenceBundle(
        service="checkout",
        environment="prod",
        onset=ONSET,
        window_start=ONSET - timedelta(minutes=30),
        collected_at=ONSET + timedelta(minutes=5),
        regions={
            "eu-west-1": region("eu-west-1", [0.2, 4.0], [50, 3]),
            "us-east-1": region("us-east-1", [0.1, 0.3], [40, 45]),
            "ap-south-1": region("ap-south-1", [], []),
        },
        changes=changes or [],
        source_errors=[SourceError(source="cloudtrail", region="eu-west-1", error="NotImplementedError: x")],
    )


def test_health_uses_the_latest_value_and_the_catalog_direction() -> None:
    b = bundle()
    assert b.latest_value("eu-west-1", "error_rate") == 4.0
    assert b.metric_is_healthy("eu-west-1", "error_rate") is False
    assert b.metric_is_healthy("eu-west-1", "orders") is False  # 3 is below the "above 10" threshold
    assert b.metric_is_healthy("us-east-1", "orders") is True
    assert b.regions["eu-west-1"].unhealthy_metrics() == ["error_rate", "orders"]
    assert b.unhealthy_regions() == ["eu-west-1"]


def test_unknown_is_none_not_healthy() -> None:
    b = bundle()
    assert b.metric_is_healthy("ap-south-1", "error_rate") is None  # no data
    assert b.metric_is_healthy("us-east-1", "no_such_metric") is None
    assert b.metric_is_healthy("nowhere", "error_rate") is None
    assert b.latest_value("nowhere", "error_rate") is None


def test_changes_between_is_inclusive_and_ordered() -> None:
    b = bundle([change(-20), change(-10), change(-5), change(1)])
    picked = b.changes_between(ONSET - timedelta(minutes=10), ONSET)
    assert [c.summary for c in picked] == ["change at -10", "change at -5"]


def test_failed_sources_by_region() -> None:
    assert bundle().failed_sources() == {"cloudtrail"}
    assert bundle().failed_sources("us-east-1") == set()


def test_summary_caps_long_lists_and_keeps_the_newest_changes() -> None:
    text = bundle([change(-m) for m in range(15, 0, -1)]).summary_markdown()
    lines = text.splitlines()
    assert f"**Changes (newest last)** (15 — {15 - MAX_CHANGES} more not shown)" in lines
    shown = [line for line in lines if "`flag`" in line]
    assert len(shown) == MAX_CHANGES and shown[-1].endswith("change at -1")
    assert "| ap-south-1 | error_rate n/a ?, orders n/a ? |" in text
    assert "| eu-west-1 | error_rate 4 ✗, orders 3 ✗ |" in text
    assert "- cloudtrail (eu-west-1): NotImplementedError: x" in lines


def test_docs_catalog_example_is_a_valid_catalog(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "catalog.md").read_text()
    match = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert match is not None
    (tmp_path / "catalog.yaml").write_text(match.group(1))
    entry = load_catalog(tmp_path / "catalog.yaml").entry("checkout", "prod")
    assert sorted(entry.regions) == ["eu-west-1", "us-east-1"]
    assert entry.regions["eu-west-1"].metrics[0].name == "error_rate"


def test_the_digest_shows_log_signatures_counted_and_failing_dependencies() -> None:
    lines = [
        LogLine(group="/ecs/c", stream="w", at=ONSET, message=f"ERROR payments timeout after {ms} ms")
        for ms in (3000, 2500, 4100)
    ]
    b = bundle()
    eu = b.regions["eu-west-1"].model_copy(
        update={"log_errors": lines, "dependencies": {"payments": DependencyHealth(alarm_state="ALARM")}}
    )
    digest = b.model_copy(update={"regions": {**b.regions, "eu-west-1": eu}}).summary_markdown()
    assert "- eu-west-1 3x ERROR payments timeout after <n> ms" in digest.splitlines()
    assert "- eu-west-1 payments: metric None, alarm ALARM" in digest.splitlines()
