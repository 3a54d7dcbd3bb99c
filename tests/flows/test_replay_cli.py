"""``firebreak replay`` on real drill records: what it prints, and its exit codes (0 no change,
1 changes with --fail-on-change, 2 an unreadable policy, catalog or directory)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from firebreak.cli import app
from tests.flows.test_replay import DRILLS, FIXTURES, policy_data, rule

DEPLOY = DRILLS / "bad-deploy"


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["replay", *args])
    return result.exit_code, result.output


def looser(tmp_path: Path) -> Path:
    data = policy_data("bad-deploy")
    rule(data, "rollbacks")["tier"] = "automated"
    path = tmp_path / "looser.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_same_policy_and_catalog_exit_0_under_fail_on_change() -> None:
    code, out = replay("--dir", str(DEPLOY), "--policy", str(DEPLOY / "policy.yaml"),
                       "--catalog", str(DEPLOY / "catalog.yaml"), "--fail-on-change")  # fmt: skip

    assert code == 0, out
    assert "rollback.ecs: approval (rollbacks) -> approval (rollbacks)" in out
    assert out.splitlines()[-1] == (
        "1 incident(s) replayed, 0 would have gone differently, 0 with incomplete records; changes: none"
    )


def test_changes_exit_1_only_with_fail_on_change(tmp_path: Path) -> None:
    policy = str(looser(tmp_path))

    code, out = replay("--dir", str(DEPLOY), "--policy", policy, "--fail-on-change")
    assert code == 1, out
    assert "rollback.ecs: approval (rollbacks) -> automated (rollbacks)" in out
    assert out.splitlines()[-1].endswith("changes: tier approval -> automated: 1")
    assert replay("--dir", str(DEPLOY), "--policy", policy)[0] == 0


def test_json_and_a_whole_drill_output(tmp_path: Path) -> None:
    """``--dir`` takes a drill's output (one directory per scenario): every scenario's records."""
    code, out = replay("--dir", str(DRILLS), "--policy", str(looser(tmp_path)), "--json")

    assert code == 0, out
    body = json.loads(out)
    scenarios = {p.name for p in DRILLS.iterdir() if p.is_dir()}
    assert body["summary"]["incidents"] == len(scenarios)
    changed = {
        i["incident_id"]: [(a["tier_then"], a["tier_now"]) for a in i["actions"]] for i in body["incidents"]
    }
    deploy_id = next((DEPLOY / "incidents").iterdir()).name
    assert changed[deploy_id] == [("approval", "automated")]


def test_since_leaves_out_older_incidents() -> None:
    code, out = replay("--dir", str(DEPLOY), "--policy", str(DEPLOY / "policy.yaml"), "--since", "2027-01-01")

    assert code == 0 and out.startswith("0 incident(s) replayed"), out


def test_records_from_before_replay_say_what_they_lack() -> None:
    old = FIXTURES / "drill_records_before_replay" / "bad-deploy"

    code, out = replay("--dir", str(old), "--policy", str(old / "policy.yaml"))

    assert code == 0, out
    assert "  top hypothesis: rollback -> not re-diagnosed" in out
    assert "  lacks: no evidence.json (kept since replay was added)" in out
    assert "    assumed: rate-limit counts not recorded: taken as 0" in out


def test_an_invalid_policy_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    data = policy_data("bad-deploy")
    rule(data, "rollbacks")["tier"] = "automatic"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))

    code, out = replay("--dir", str(DEPLOY), "--policy", str(bad))

    assert code == 2
    assert str(bad) in out and "tier" in out and "automatic" in out


def test_an_invalid_catalog_or_directory_exits_2(tmp_path: Path) -> None:
    data = yaml.safe_load((DEPLOY / "catalog.yaml").read_text())
    data["services"]["checkout"]["prod"]["primary_region"] = 7
    bad = tmp_path / "catalog.yaml"
    bad.write_text(yaml.safe_dump(data))
    policy = str(DEPLOY / "policy.yaml")

    code, out = replay("--dir", str(DEPLOY), "--policy", policy, "--catalog", str(bad))
    assert code == 2 and str(bad) in out and "primary_region" in out, out
    code, out = replay("--dir", str(tmp_path / "nowhere"), "--policy", policy)
    assert code == 2 and "no such directory" in out
