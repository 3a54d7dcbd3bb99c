"""The postmortem chart: a PNG whose drawn series, threshold and markers are read back from the
figure's artists (not the pixels)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flows.chart import IncidentMetrics, MarkerKind, chart_spec, render_chart
from flows.timeline import Stage, Timeline
from tasks.catalog import Comparison
from tasks.evidence import Datapoint
from tests.flows.incident_reports import REPORTS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_chart_draws_each_region_the_threshold_and_every_marker(tmp_path: Path) -> None:
    report = REPORTS[1]  # INC-B
    onset = report.started_at
    timeline = Timeline(incident_id=report.incident_id, path=tmp_path / "timeline.json")
    timeline.add(Stage.DETECT, "alert", "alarm fired")  # the alert's marker is the onset, not this
    timeline.add(Stage.DETECT, "confirmed", "error_rate 0.4")
    timeline.add(Stage.RESOLVE, "decision", "rollback.ecs: approval")
    timeline.add(Stage.RESOLVE, "approval-answer", "alice approved")
    timeline.add(Stage.RESOLVE, "applied", "rolled back")
    timeline.add(Stage.VERIFY, "not-recovered", "still failing")
    timeline.add(Stage.RESOLVE, "decision", "traffic.shift.route53: automated")
    timeline.add(Stage.RESOLVE, "applied", "shifted")
    timeline.add(Stage.VERIFY, "recovered", "error_rate 0.01")
    timeline.add(Stage.RECOVER, "applied", "traffic returned, two days later")  # not the incident's chart
    series = {
        region: [Datapoint(at=onset + timedelta(seconds=s), value=0.5 * k) for s in range(-60, 300, 10)]
        for k, region in enumerate(["eu-west-1", "us-east-1"], start=1)
    }
    metrics = IncidentMetrics(
        metric="error_rate", healthy_threshold=0.05, healthy_when=Comparison.BELOW, regions=series
    )
    drawn = render_chart(chart_spec(report, timeline, metrics))
    assert drawn.png.startswith(PNG_SIGNATURE)
    assert drawn.points == {"eu-west-1": 36, "us-east-1": 36}
    assert drawn.threshold == 0.05
    kinds = [m.kind for m in drawn.markers]
    assert kinds == [
        MarkerKind.ALERT,
        MarkerKind.CONFIRMED,
        MarkerKind.DECISION,
        MarkerKind.APPROVAL,
        MarkerKind.APPLIED,
        MarkerKind.DECISION,
        MarkerKind.APPLIED,
        MarkerKind.RECOVERED,
    ]
    assert abs((drawn.markers[0].at - onset).total_seconds()) < 0.01
    last = timeline.events("recovered")[0].at
    assert abs((drawn.markers[-1].at - last).total_seconds()) < 0.01
