from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.dead_letters import DeadLetterStore, Reason, letter, redact_headers
from alerts.errors import DeadLetterError


def test_redact_headers_drops_every_credential() -> None:
    kept = redact_headers(
        {
            "Authorization": "Bearer t",
            "X-PagerDuty-Signature": "v1=abc",
            "X-Api-Key": "k",
            "X-Auth-Token": "t",
            "Cookie": "session=1",
            "Content-Type": "application/json",
            "User-Agent": "Alertmanager/0.27.0",
            "x-amz-sns-message-type": "Notification",
        }
    )
    assert kept == {
        "content-type": "application/json",
        "user-agent": "Alertmanager/0.27.0",
        "x-amz-sns-message-type": "Notification",
    }


def test_letters_round_trip_text_and_binary_bodies(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dead")
    text = letter("generic", Reason.MALFORMED, "bad", body=b'{"a": 1}', headers={})
    binary = letter("nagios/../x", Reason.UNKNOWN_SOURCE, "?", body=b"\xff\x00\xfe", headers={})
    store.put(text)
    path = store.put(binary)
    assert path is not None
    assert path.parent == tmp_path / "dead"
    assert "-nagios____x-" in path.name
    (_, first), (_, second) = store.entries()
    assert {first.body_bytes(), second.body_bytes()} == {b'{"a": 1}', b"\xff\x00\xfe"}
    assert json.loads(path.read_text())["body_encoding"] == "base64"


def test_full_store_drops_new_letters(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path, max_letters=2)
    paths = [store.put(letter("generic", Reason.MALFORMED, str(i), body=b"x", headers={})) for i in range(3)]
    assert paths[2] is None
    assert [dead.detail for _, dead in store.entries()] == ["0", "1"]


def test_missing_directory_is_empty_and_not_created(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "absent")
    assert store.entries() == []
    assert not (tmp_path / "absent").exists()


def test_corrupt_letter_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "20261114T101530000000Z-generic-malformed-deadbeef.json").write_text("{}")
    store = DeadLetterStore(tmp_path)
    letters, (unreadable,) = store.scan()
    assert letters == [] and store.entries() == []
    assert unreadable.path.name.endswith("deadbeef.json")
    assert "not a dead letter" in unreadable.problem
    with pytest.raises(DeadLetterError, match=r"deadbeef\.json: not a dead letter"):
        store.read(unreadable.path)


def test_unwritable_directory_is_a_dead_letter_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeadLetterError, match="cannot write"):
        DeadLetterStore(blocker / "dead").put(letter("generic", Reason.MALFORMED, "", body=b"", headers={}))
