"""The incident history read from an incidents directory, and the `firebreak incidents` command."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from firebreak.cli import app
from flows.history import load_history
from flows.records import LocalRecords
from tests.flows.incident_reports import T0, write_reports


def test_history_reads_every_report_and_names_what_it_could_not(tmp_path: Path) -> None:
    history = load_history(LocalRecords(write_reports(tmp_path)))
    assert [r.incident_id for r in history.reports] == ["INC-A", "INC-B", "INC-C", "INC-D", "INC-E"]
    assert list(history.unreadable) == ["INC-BROKEN"]  # INC-RUNNING has no report yet: not an error
    assert [r.incident_id for r in history.select(service="checkout", since=T0 + timedelta(hours=1))] == [
        "INC-B",
        "INC-C",
        "INC-E",
    ]
    assert [r.incident_id for r in history.select(drill=False)] == ["INC-E"]


def _run(*args: str) -> str:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["incidents", *args])
    assert result.exit_code == 0, result.output
    assert "skipped INC-BROKEN" in result.stderr
    return result.stdout


def test_list_filters_and_exports(tmp_path: Path) -> None:
    root = write_reports(tmp_path)
    listed = json.loads(_run("list", "--dir", str(root), "--service", "payments", "--json"))
    assert [(r["id"], r["mitigations"], r["drill"]) for r in listed] == [
        ("INC-D", "flags.disable.ssm:applied", True)
    ]
    rows = list(
        csv.DictReader(io.StringIO(_run("list", "--dir", str(root), "--since", "2026-11-23", "--csv")))
    )
    assert [r["id"] for r in rows] == ["INC-D", "INC-E"]


def test_stats_json_and_table_with_definitions(tmp_path: Path) -> None:
    root = write_reports(tmp_path)
    body = _run("stats", "--dir", str(root), "--by", "kind", "--json")
    stats = json.loads(body)
    assert stats["by"] == "kind"
    assert {g["key"]: g["success_rate"] for g in stats["groups"]} == {
        "flags.disable.ssm": 1.0,
        "rollback.ecs": 0.5,
        "traffic.shift.route53": 1.0,
    }
    table = _run("stats", "--dir", str(root), "--by", "alarm")
    assert "checkout-errors-eu-west-1" in table and "0.75" in table
    assert "MTTD" in table and "nearest-rank" in table


def test_show_names_a_missing_incident(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["incidents", "show", "INC-NOPE", "--dir", str(write_reports(tmp_path))])
    assert result.exit_code == 2
    assert "no incident INC-NOPE" in result.output
