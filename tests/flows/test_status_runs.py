"""Which post runs the incident's timeline still waits for (pure: the timeline alone)."""

from __future__ import annotations

from pathlib import Path

from flows.status_runs import FAILED, PENDING, POSTED, STARTED, in_flight, started_status
from flows.timeline import Stage, Timeline
from tasks.statuspage import IncidentStatus


def test_a_post_run_is_in_flight_until_its_outcome_is_copied(tmp_path: Path) -> None:
    timeline = Timeline(incident_id="INC-1", path=tmp_path / "timeline.json")
    timeline.add(Stage.DETECT, STARTED, "started", status="investigating", post_run="run-a")
    timeline.add(Stage.REPORT, STARTED, "started", status="resolved", post_run="run-b")
    assert in_flight(timeline) == ["run-a", "run-b"]
    assert started_status(timeline, "run-b") is IncidentStatus.RESOLVED
    timeline.add(Stage.REPORT, PENDING, "still waiting", status="investigating", post_run="run-a")
    assert in_flight(timeline) == ["run-a", "run-b"]  # pending is not an outcome
    timeline.add(Stage.REPORT, POSTED, "posted", status="investigating", post_run="run-a")
    timeline.add(Stage.REPORT, FAILED, "ended without an outcome", status="resolved", post_run="run-b")
    assert in_flight(timeline) == []
