"""The timeline's hash chain: intact on a real timeline (across a restart), and every kind of
tampering caught by `firebreak timeline verify` with the first bad entry named."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from flows.chain import ChainStatus, verify_chain
from flows.timeline import Stage, Timeline
from tests.records_key import RecordsKey

Raw = dict[str, Any]


def _timeline(tmp_path: Path) -> Path:
    """Five entries, the last two written after a restart (Timeline.open on the file)."""
    path = tmp_path / "INC-1" / "timeline.json"
    first = Timeline.open("INC-1", path)
    first.add(Stage.DETECT, "alert", "alarm fired", fingerprint="f")
    first.add(Stage.DETECT, "confirmed", "error_rate 0.4", value=0.4)
    first.add(Stage.RESOLVE, "decision", "rollback.ecs: approval", actor="rule:rollback")
    again = Timeline.open("INC-1", path)
    again.add(Stage.DETECT, "restarted", "incident run started again")
    again.add(Stage.RESOLVE, "applied", "rolled back", plan={"after": {"revision": 1}})
    return path


@pytest.fixture(autouse=True)
def _signed(records_key: RecordsKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every timeline here is written by a host with a records key; verify uses its policy."""
    monkeypatch.setenv("TEST_RECORDS_POLICY", str(records_key.policy))


def _verify(path: Path, *extra: str) -> tuple[int, str]:
    policy = ["--policy", os.environ["TEST_RECORDS_POLICY"]]
    result = CliRunner().invoke(app, ["timeline", "verify", str(path), *policy, *extra])
    return result.exit_code, result.output


def _rewrite(path: Path, change: Callable[[Raw], None]) -> None:
    raw = json.loads(path.read_text())
    change(raw)
    path.write_text(json.dumps(raw, indent=2))


def test_a_real_timeline_continued_after_a_restart_verifies(tmp_path: Path) -> None:
    path = _timeline(tmp_path)
    entries = json.loads(path.read_text())["entries"]
    assert entries[3]["prev"] == entries[2]["hash"]  # the restart continued the chain
    code, output = _verify(path)
    assert (code, "5 entries, chain intact" in output) == (0, True)
    assert "timeline.head.json" in output


def _alter(raw: Raw) -> None:
    raw["entries"][2]["actor"] = "mallory"


def _remove(raw: Raw) -> None:
    del raw["entries"][1]


def _reorder(raw: Raw) -> None:
    raw["entries"][1], raw["entries"][2] = raw["entries"][2], raw["entries"][1]


def _move_to_other_incident(raw: Raw) -> None:
    raw["incident_id"] = "INC-2"


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (_alter, "entry 3 (decision at"),
        (_remove, "entry 2 (decision at"),
        (_reorder, "entry 2 (decision at"),
        (_move_to_other_incident, "entry 1 (alert at"),
    ],
)
def test_tampering_names_the_first_bad_entry(
    tmp_path: Path, tamper: Callable[[Raw], None], named: str
) -> None:
    path = _timeline(tmp_path)
    _rewrite(path, tamper)
    code, output = _verify(path)
    assert code == 1
    assert named in output


def test_each_kind_of_tampering_has_its_status(tmp_path: Path) -> None:
    path = _timeline(tmp_path)
    raw = json.loads(path.read_text())
    started = Timeline.load(path).started_at

    def status(change: Callable[[Raw], None]) -> ChainStatus:
        copy = json.loads(json.dumps(raw))
        change(copy)
        return verify_chain(copy["incident_id"], started, copy["entries"]).status

    assert status(lambda r: None) is ChainStatus.INTACT
    assert status(_alter) is ChainStatus.ALTERED
    assert status(_remove) is ChainStatus.REMOVED
    assert status(_reorder) is ChainStatus.REORDERED


def test_a_cut_tail_is_caught_by_the_head_sidecar(tmp_path: Path) -> None:
    path = _timeline(tmp_path)
    _rewrite(path, lambda raw: raw["entries"].pop())
    code, output = _verify(path)
    assert code == 1
    assert "missing tail" in output and "entries 5-5" in output


def test_a_recomputed_chain_is_caught_by_a_head_recorded_elsewhere(tmp_path: Path) -> None:
    path = _timeline(tmp_path)
    recorded = Timeline.load(path).head
    forged = Timeline.load(path)
    forged.entries = []
    forged.started_at = Timeline.load(path).started_at
    for entry in Timeline.load(path).entries:  # same entries, one altered, hashes recomputed
        message = "nothing to see" if entry.event == "decision" else entry.message
        forged.add(entry.stage, entry.event, message, actor=entry.actor, **entry.data)
    # The forger holds the records key here (a worst case: the key was stolen), so the re-signed
    # sidecar passes; a head recorded elsewhere still catches the rewrite.
    assert _verify(path)[0] == 0
    code, output = _verify(path, "--head", recorded.hash, "--length", str(recorded.length))
    assert code == 1
    assert "entry 5 (applied at" in output and "rewritten" in output


def test_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "timeline.json"
    bad.write_text("{not json")
    assert _verify(bad)[0] == 2
    assert _verify(tmp_path / "missing.json")[0] == 2
