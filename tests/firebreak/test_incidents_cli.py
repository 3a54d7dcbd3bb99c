"""`firebreak incidents` on a drill's output, in an 80-column terminal, and by id prefix."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from firebreak.cli import app
from flows.region_outcome import RegionOutcome, RegionStatus
from flows.report import IncidentReport, MitigationRecord, MitigationStatus
from tests.flows.incident_reports import REPORTS

# Ids as flows.incident_run.incident_id makes them: INC-<onset minute>-<32 hex digits>.
LONG_IDS = [f"INC-2026112{i}-1000-{i}f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d" for i in range(len(REPORTS))]
LONGEST_KIND = MitigationRecord(
    hypothesis="maintenance", kind="maintenance.disable.alb", tier="approval", rule="r",
    status=MitigationStatus.TIMED_OUT,
)  # fmt: skip


def _reports() -> list[IncidentReport]:
    return [
        r.model_copy(
            update={"incident_id": i, "severity": "SEV-2", "mitigations": [*r.mitigations, LONGEST_KIND]}
        )
        for r, i in zip(REPORTS, LONG_IDS, strict=True)
    ]


def _write(incidents: Path, reports: list[IncidentReport]) -> None:
    for report in reports:
        (incidents / report.incident_id).mkdir(parents=True)
        (incidents / report.incident_id / "report.json").write_text(report.model_dump_json())


def _drill_output(root: Path) -> Path:
    """Two scenarios' outputs, as `firebreak drill run --output root` leaves them."""
    reports = _reports()
    _write(root / "bad-deploy" / "incidents", reports[:3])
    _write(root / "flag-flip" / "incidents", reports[3:])
    (root / "bad-deploy" / "scorecard.json").write_text("{}")
    return root


def _run(*args: str, columns: int = 80) -> str:
    result = CliRunner(env={"COLUMNS": str(columns)}).invoke(app, ["incidents", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_drills_output_lists_every_scenarios_incidents(tmp_path: Path) -> None:
    root = _drill_output(tmp_path)
    assert [r["id"] for r in json.loads(_run("list", "--dir", str(root), "--json"))] == LONG_IDS
    scenario = json.loads(_run("list", "--dir", str(root / "flag-flip"), "--json"))
    assert [r["id"] for r in scenario] == LONG_IDS[3:]
    stats = json.loads(_run("stats", "--dir", str(root), "--json"))
    assert sum(g["incidents"] for g in stats["groups"]) == len(LONG_IDS)
    assert LONG_IDS[4] in _run("show", LONG_IDS[4], "--dir", str(root))


def test_a_dir_with_no_incidents_in_it_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(b"")
    result = CliRunner().invoke(app, ["incidents", "list", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"--dir {tmp_path}: neither an incidents directory" in result.stderr


def test_the_list_reads_in_80_columns(tmp_path: Path) -> None:
    out = _run("list", "--dir", str(_drill_output(tmp_path)))
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    words = out.split()
    for incident_id in LONG_IDS:
        assert incident_id[:26] in words  # the id up to 8 hex digits, on one line
    assert {"rollback.ecs", "traffic.shift.route53", "maintenance.disable.alb", "flags.disable.ssm"} <= set(
        words
    )
    assert "--wide" in out


def test_wide_shows_every_field_whole_however_narrow_the_terminal(tmp_path: Path) -> None:
    out = _run("list", "--dir", str(_drill_output(tmp_path)), "--wide")
    assert "…" not in out
    words = out.split()
    assert set(LONG_IDS) <= set(words)
    assert "checkout-errors-eu-west-1" in words
    assert "2026-11-20T10:00:00+00:00" in words


def test_show_takes_a_unique_prefix_of_the_id(tmp_path: Path) -> None:
    root = _drill_output(tmp_path)
    assert LONG_IDS[1] in _run("show", LONG_IDS[1][:26], "--dir", str(root))
    result = CliRunner().invoke(app, ["incidents", "show", "INC-2026112", "--dir", str(root)])
    assert result.exit_code == 2
    assert f"{len(LONG_IDS)} incidents start with INC-2026112" in result.stderr


def test_show_gives_a_drills_durations_in_drill_time(tmp_path: Path) -> None:
    report = _reports()[0].model_copy(update={"drill_speed": 60.0})  # INC-A: detected 30 s after onset
    _write(tmp_path, [report])
    out = _run("show", report.incident_id, "--dir", str(tmp_path), columns=200)
    assert (
        "time_to_detect_s=1800, time_to_first_mitigation_s=5400, time_to_recovery_s=9000 (drill time, x60)"
        in out
    )


def test_each_region_of_an_incident_shows_its_outcome(tmp_path: Path) -> None:
    regions = [
        RegionOutcome(
            region="eu-west-1", alerts=["a"], done=["rollback.ecs: applied"], status=RegionStatus.RECOVERED
        ),
        RegionOutcome(region="us-east-1", alerts=["b"], status=RegionStatus.NOT_HANDLED),
    ]
    report = _reports()[0].model_copy(update={"regions": regions})
    _write(tmp_path, [report])
    shown = _run("show", report.incident_id, "--dir", str(tmp_path), columns=200)
    assert "region eu-west-1: recovered (rollback.ecs: applied; alerts a)" in shown
    assert "region us-east-1: not_handled (nothing applied; alerts b)" in shown
    [row] = json.loads(_run("list", "--dir", str(tmp_path), "--json"))
    assert row["regions"] == "eu-west-1:recovered, us-east-1:not_handled"
    words = _run("list", "--dir", str(tmp_path)).split()  # the outcome column wraps at spaces
    assert {"eu-west-1", "recovered", "us-east-1", "handled"} <= set(words)
