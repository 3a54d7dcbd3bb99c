"""`--dir` accepts an incidents directory, a scenario's drill output, or a whole drill output."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.records_dirs import IncidentsDirError, incidents_dirs


def _incident(incidents: Path, incident_id: str, record: str = "timeline.json") -> None:
    (incidents / incident_id).mkdir(parents=True)
    (incidents / incident_id / record).write_text("{}")


def test_an_incidents_directory_is_itself(tmp_path: Path) -> None:
    _incident(tmp_path, "INC-1", "report.json")
    assert incidents_dirs(tmp_path) == [tmp_path]


def test_an_empty_directory_is_an_incidents_directory_with_none_yet(tmp_path: Path) -> None:
    assert incidents_dirs(tmp_path) == [tmp_path]


def test_a_scenarios_output_answers_its_incidents_directory(tmp_path: Path) -> None:
    _incident(tmp_path / "incidents", "INC-1")
    (tmp_path / "scorecard.json").write_text("{}")
    assert incidents_dirs(tmp_path) == [tmp_path / "incidents"]


def test_a_drills_output_answers_every_scenarios_incidents_sorted(tmp_path: Path) -> None:
    _incident(tmp_path / "ddb-throttle" / "incidents", "INC-2")
    _incident(tmp_path / "checkout-latency" / "incidents", "INC-1")
    (tmp_path / "notes").mkdir()  # no incidents/ inside: not a scenario
    assert incidents_dirs(tmp_path) == [
        tmp_path / "checkout-latency" / "incidents",
        tmp_path / "ddb-throttle" / "incidents",
    ]


@pytest.mark.parametrize("make", ["missing", "file", "unrelated"])
def test_nothing_recognisable_is_an_error_not_an_empty_list(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x"
    if make == "file":
        path.write_text("x")
    elif make == "unrelated":
        (path / "photos").mkdir(parents=True)
        (path / "photos" / "cat.png").write_bytes(b"")
    with pytest.raises(IncidentsDirError, match=str(path)):
        incidents_dirs(path)
