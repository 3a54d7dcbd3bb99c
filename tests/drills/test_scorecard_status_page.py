"""The scorecard's status page check: exact and ordered; not recorded never passes. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drills.scenario import load_scenario
from drills.scorecard import Scorecard, score
from flows.report import IncidentReport, Outcome
from flows.timeline import Timeline


def card(tmp_path: Path, status_page: list[str] | None) -> Scorecard:
    scenario = load_scenario("status-page")
    report = IncidentReport(
        incident_id="INC-1",
        service="quotes",
        environment="prod",
        region="eu-central-1",
        alert_name="quotes-prod-ErrorRate",
        outcome=Outcome.MITIGATED,
        message="",
        started_at=datetime.now(UTC),
        timeline_path=str(tmp_path / "timeline.json"),
    )
    timeline = Timeline(incident_id="INC-1", path=tmp_path / "timeline.json")
    return score(scenario, report, timeline, answers=[], recovery=None, speed=1.0, status_page=status_page)


@pytest.mark.parametrize(
    ("received", "ok"),
    [
        (["investigating", "resolved"], True),
        (["resolved", "investigating"], False),
        (["investigating"], False),
        (["investigating", "resolved", "resolved"], False),
        (None, False),
    ],
)
def test_status_page_is_checked_exactly_and_in_order(
    tmp_path: Path, received: list[str] | None, ok: bool
) -> None:
    check = next(c for c in card(tmp_path, received).checks if c.name == "status page")
    assert check.ok is ok
    assert check.expected == "investigating, resolved"
    assert check.actual == ("not recorded" if received is None else ", ".join(received))


def test_the_scorecard_lists_what_the_page_received(tmp_path: Path) -> None:
    assert card(tmp_path, ["investigating"]).status_page == ["investigating"]
