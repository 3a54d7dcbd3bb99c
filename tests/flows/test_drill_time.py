"""A drill's postmortem, chart and scorecard speak in drill time, and say so (one conversion)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.models import Alert
from drills.clock import DrillClock
from drills.run_settings import drill_settings
from drills.scenario import load_scenario
from drills.scorecard import score
from flows.chart import IncidentMetrics, MarkerKind, chart_spec, render_chart
from flows.history import record_incident
from flows.report import IncidentReport, postmortem_markdown
from flows.timeline import Stage, Timeline
from tasks.catalog import Comparison
from tasks.evidence import Datapoint
from tests.flows.incident_reports import REPORTS

SPEED = 60.0  # drills.clock.DEFAULT_SPEED: 1 wall second stands for 1 drill minute
DETECT, MITIGATE, RECOVER = 1 / 3, 2.4, 5.0  # wall seconds after onset: 20 s, 144 s, 300 s of drill time


def _drill(tmp_path: Path, speed: float | None = SPEED) -> tuple[IncidentReport, Timeline]:
    onset = REPORTS[0].started_at
    report = REPORTS[0].model_copy(
        update={
            "drill_speed": speed,
            "detected_at": onset + timedelta(seconds=DETECT),
            "first_mitigation_at": onset + timedelta(seconds=MITIGATE),
            "recovered_at": onset + timedelta(seconds=RECOVER),
        }
    )
    timeline = Timeline(incident_id=report.incident_id, path=tmp_path / "timeline.json")
    timeline.add(Stage.RESOLVE, "applied", "rolled back")
    timeline.entries[-1] = timeline.entries[-1].model_copy(update={"at": onset + timedelta(seconds=MITIGATE)})
    return report, timeline


def test_a_drills_postmortem_gives_its_durations_and_timeline_in_drill_time(tmp_path: Path) -> None:
    report, timeline = _drill(tmp_path)
    text = postmortem_markdown(report, timeline)
    assert "Time to detect: 0:00:20; to first mitigation: 0:02:24; to recovery: 0:05:00" in text
    assert "drill time" in text and "1 wall second = 60 drill seconds" in text
    assert "| +0:02:24 | resolve |" in text  # the applied entry, on the drill clock from onset


def test_a_real_incidents_postmortem_stays_in_wall_time(tmp_path: Path) -> None:
    report, timeline = _drill(tmp_path, speed=None)
    text = postmortem_markdown(report, timeline)
    assert "Time to detect: 0:00:00; to first mitigation: 0:00:02; to recovery: 0:00:05" in text
    assert "drill" not in text.lower()
    assert f"| {timeline.entries[0].at:%H:%M:%S} | resolve |" in text


def test_a_drills_chart_runs_on_the_drill_clock(tmp_path: Path) -> None:
    report, timeline = _drill(tmp_path)
    onset = report.started_at
    points = [Datapoint(at=onset + timedelta(seconds=s), value=0.1) for s in range(-4, 6)]
    metrics = IncidentMetrics(
        metric="error_rate",
        healthy_threshold=0.05,
        healthy_when=Comparison.BELOW,
        regions={"eu-west-1": points},
    )
    drawn = render_chart(chart_spec(report, timeline, metrics))
    applied = next(
        x for m, x in zip(drawn.markers, drawn.marker_x, strict=True) if m.kind is MarkerKind.APPLIED
    )
    assert applied == pytest.approx(144)  # 2.4 wall seconds stand for 144 drill seconds
    assert drawn.x_range == pytest.approx((-240.0, 300.0))  # not -4..+5 wall seconds
    assert drawn.x_label.startswith("drill seconds from alert onset")
    assert abs((drawn.markers[1].at - timeline.entries[0].at).total_seconds()) < 0.01  # read back


def test_the_scorecard_reports_the_same_drill_time_as_the_postmortem(tmp_path: Path) -> None:
    report, timeline = _drill(tmp_path)
    card = score(load_scenario("bad-deploy"), report, timeline, answers=[], recovery=None, speed=SPEED)
    assert (
        card.drill_seconds
        == report.drill_durations(SPEED)
        == {
            "time_to_detect_s": 20.0,
            "time_to_first_mitigation_s": 144.0,
            "time_to_recovery_s": 300.0,
        }
    )


def test_a_drills_records_carry_the_drill_clock(tmp_path: Path) -> None:
    report, timeline = _drill(tmp_path, speed=None)
    scenario = load_scenario("bad-deploy")
    clock = DrillClock(speed=SPEED)
    settings = drill_settings(scenario, tmp_path, clock=clock)
    alert = Alert(source="drill", fingerprint="f", name=report.alert_name, starts_at=report.started_at)
    recorded = record_incident(report, timeline, settings, alert)  # unroutable: no chart, local records
    assert recorded.drill_speed == SPEED
    folder = tmp_path / "incidents" / report.incident_id
    assert IncidentReport.model_validate_json((folder / "report.json").read_text()).drill_speed == SPEED
    assert "to first mitigation: 0:02:24" in (folder / "postmortem.md").read_text()
