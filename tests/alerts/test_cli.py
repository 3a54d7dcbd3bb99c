from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerts.dead_letters import DeadLetterStore, Reason, letter
from firebreak.cli import app
from tests.alerts.signing import FIXTURES

runner = CliRunner()


def test_parse_prints_normalised_alerts() -> None:
    result = runner.invoke(
        app, ["alert", "parse", str(FIXTURES / "alertmanager_firing_group.json"), "--source", "alertmanager"]
    )
    assert result.exit_code == 0, result.output
    alerts = json.loads(result.stdout)["alerts"]
    assert [(a["service"], a["environment"]) for a in alerts] == [
        ("checkout", "prod"),
        ("checkout", "prod"),
        ("payments", "staging"),
    ]


def test_parse_with_routing_file(tmp_path: Path) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text("services: [checkout]\n")
    result = runner.invoke(
        app,
        [
            "alert",
            "parse",
            str(FIXTURES / "alertmanager_firing_group.json"),
            "--source",
            "alertmanager",
            "--routing",
            str(routing),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [a["service"] for a in json.loads(result.stdout)["alerts"]] == ["checkout", "checkout", None]


def test_parse_bad_payload_exits_2_naming_the_field() -> None:
    result = runner.invoke(
        app, ["alert", "parse", str(FIXTURES / "pagerduty_triggered.json"), "--source", "eventbridge"]
    )
    assert result.exit_code == 2
    assert "eventbridge payload: id: Field required" in result.stderr


def test_parse_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["alert", "parse", str(tmp_path / "nope.json"), "--source", "generic"])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_dead_letters_lists_time_source_reason_file(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path)
    path = store.put(letter("alertmanager", Reason.UNAUTHORIZED, "no header", body=b"{}", headers={}))
    result = runner.invoke(app, ["alert", "dead-letters", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "alertmanager" in result.stdout
    assert "unauthorized" in result.stdout
    assert str(path) in result.stdout
    as_json = runner.invoke(app, ["alert", "dead-letters", "--dir", str(tmp_path), "--json"])
    assert json.loads(as_json.stdout)["reason"] == "unauthorized"


def test_serve_is_registered() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.stdout


def test_serve_with_a_slack_secret_but_no_attestor_key_exits_2_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREBREAK_SLACK_SIGNING_SECRET", "not-a-real-secret")
    monkeypatch.delenv("FIREBREAK_ATTESTOR_KEY", raising=False)
    monkeypatch.setenv("FIREBREAK_DEAD_LETTER_DIR", str(tmp_path / "dead"))
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "FIREBREAK_ATTESTOR_KEY" in result.stderr
    assert "Traceback" not in result.output
