"""``firebreak policy check`` and ``firebreak policy explain`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from firebreak.cli import app

runner = CliRunner()
SHIPPED = str(Path(__file__).parents[2] / "policies" / "default.yaml")
EXPLAIN = ["policy", "explain", "--action", "rollback.ecs", "--service", "checkout", "--env", "prod"]


def test_check_valid_file_exits_0() -> None:
    result = runner.invoke(app, ["policy", "check", SHIPPED])
    assert result.exit_code == 0, result.output
    assert "valid policy 'default'" in result.stdout


def test_check_invalid_file_exits_2_with_the_precise_message(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text("rules:\n  - {name: r, actions: [x], tier: automatic, reason: r}\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}: rules[0].tier: 'automatic' is not one of automated, approval, human_only, denied" in (
        result.stderr
    )


def test_check_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_explain_json_parses_and_carries_the_decision() -> None:
    result = runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2", "--blast-radius", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["decision"]["tier"] == "approval"
    assert body["decision"]["rule"] == "rollbacks"
    assert body["approvers"] == ["alice", "bob"]
    assert body["request"]["targets"] == ["checkout"]
    assert {g["name"] for g in body["decision"]["guardrails"]} >= {"kill_switch", "blast_radius_cap"}


def test_explain_with_kill_switch_counts_and_targets() -> None:
    args = [
        *EXPLAIN, "--severity", "SEV-1", "--kill-switch", "--targets", "svc-a,*",
        "--count", "rollback-per-service:checkout=3", "--now", "2026-11-18T10:00:00+01:00", "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["decision"]["tier"] == "denied"
    failed = {g["name"] for g in body["decision"]["guardrails"] if not g["passed"]}
    assert failed == {"kill_switch", "rate_limit:rollback-per-service", "target_set"}
    assert body["rules_say"]["tier"] == "approval"
    assert body["context"]["now"] == "2026-11-18T10:00:00+01:00"


def test_explain_table_output_names_tier_rule_guardrails_and_approvers() -> None:
    result = runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2"])
    assert result.exit_code == 0, result.output
    for text in ("approval", "rollbacks", "blast_radius_cap", "passed", "alice, bob", "escalate"):
        assert text in result.stdout, text


def test_explain_with_an_invalid_policy_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("default_tier: yolo\n", encoding="utf-8")
    result = runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2", "--policy", str(path)])
    assert result.exit_code == 2
    assert "default_tier: 'yolo' is not one of" in result.stderr


def test_explain_rejects_bad_inputs_with_usage_errors() -> None:
    assert runner.invoke(app, [*EXPLAIN, "--severity", "SEV-9"]).exit_code == 2
    naive = "2026-11-18T10:00:00"
    assert runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2", "--now", naive]).exit_code == 2
    assert runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2", "--count", "oops"]).exit_code == 2
    assert runner.invoke(app, [*EXPLAIN, "--severity", "SEV-2", "--blast-radius", "1.5"]).exit_code == 2
