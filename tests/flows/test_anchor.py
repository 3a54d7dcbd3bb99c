"""Records anchored outside the file: the worker host signs every chain head, and
``firebreak timeline verify`` fails when a timeline is rewritten, cut or left without its
signed head, unless told the records are unanchored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from flows.timeline import Stage, Timeline, head_path
from tests.records_key import RecordsKey

runner = CliRunner()


def _timeline(path: Path) -> Timeline:
    timeline = Timeline.open("INC-1", path)
    timeline.add(Stage.DETECT, "alert", "alarm fired", fingerprint="f")
    timeline.add(Stage.DETECT, "confirmed", "error_rate 0.4", value=0.4)
    timeline.add(Stage.RESOLVE, "approval-answer", "approved", actor="alice")
    timeline.add(Stage.RESOLVE, "applied", "rolled back", plan={"after": {"revision": 1}})
    return timeline


def _verify(path: Path, key: RecordsKey, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["timeline", "verify", str(path), "--policy", str(key.policy), *extra])
    return result.exit_code, result.output


def test_a_timeline_the_worker_signed_verifies(tmp_path: Path, records_key: RecordsKey) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    code, output = _verify(path, records_key)
    assert code == 0, output
    assert "4 entries, chain intact" in output and "signed head" in output


def test_a_rewritten_rehashed_timeline_with_a_new_sidecar_fails(
    tmp_path: Path, records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forger changes the approver, recomputes every hash and the sidecar, without the key."""
    path = tmp_path / "INC-1" / "timeline.json"
    original = _timeline(path)
    monkeypatch.delenv(records_key.env)
    forged = Timeline(incident_id="INC-1", path=path, started_at=original.started_at)
    for entry in original.entries:
        actor = "mallory" if entry.event == "approval-answer" else entry.actor
        forged.add(entry.stage, entry.event, entry.message, actor=actor, **entry.data)
    code, output = _verify(path, records_key)
    assert code == 1, output
    assert "no head signed by a key the policy lists" in output


def test_a_timeline_cut_short_without_its_sidecar_fails(tmp_path: Path, records_key: RecordsKey) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    raw = json.loads(path.read_text())
    raw["entries"] = raw["entries"][:2]
    path.write_text(json.dumps(raw))
    head_path(path).unlink()
    code, output = _verify(path, records_key)
    assert code == 1, output
    assert "no head signed by a key the policy lists" in output


def test_a_head_signed_by_another_key_fails(
    tmp_path: Path, records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    monkeypatch.setenv(records_key.env, str(records_key.other_key))
    Timeline.load(path).add(Stage.REPORT, "note", "signed by someone else")
    code, output = _verify(path, records_key)
    assert code == 1, output
    assert "a signature that does not verify" in output


def test_a_report_that_is_not_json_is_an_error_not_skipped(tmp_path: Path, records_key: RecordsKey) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    (path.parent / "report.json").write_text("{not json")
    code, output = _verify(path, records_key)
    assert code == 1, output
    assert "report.json" in output and "not JSON" in output


def test_unsigned_records_verify_only_when_declared_unanchored(
    tmp_path: Path, records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(records_key.env)
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    assert _verify(path, records_key)[0] == 1
    code, output = _verify(path, records_key, "--unanchored")
    assert code == 0, output
    assert "unanchored" in output and "4 entries, chain intact" in output


def test_verify_uses_the_hosts_policy_when_it_names_one(
    tmp_path: Path, records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --policy, the signers are the host's (FIREBREAK_POLICY_FILE), not the shipped
    policy's (which lists none), and the output says which policy it used."""
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    monkeypatch.setenv("FIREBREAK_POLICY_FILE", str(records_key.policy))

    result = runner.invoke(app, ["timeline", "verify", str(path)])

    assert result.exit_code == 0, result.output
    assert f"record signers from {records_key.policy} (FIREBREAK_POLICY_FILE)" in result.output


def test_verify_without_a_host_policy_uses_the_shipped_one_and_says_so(
    tmp_path: Path, records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    monkeypatch.delenv("FIREBREAK_POLICY_FILE", raising=False)

    result = runner.invoke(app, ["timeline", "verify", str(path)])

    assert result.exit_code == 1  # the shipped policy lists no record_signers
    assert "the shipped policy lists no record_signers" in result.output


def test_verify_says_when_the_policy_came_from_the_command_line(
    tmp_path: Path, records_key: RecordsKey
) -> None:
    path = tmp_path / "INC-1" / "timeline.json"
    _timeline(path)
    code, output = _verify(path, records_key)
    assert code == 0, output
    assert f"record signers from {records_key.policy} (--policy)" in output
