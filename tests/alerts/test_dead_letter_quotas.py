"""Issue 25, point 4: dead letters cannot be filled by strangers, keep one letter per retried
occurrence, keep room for what must be replayed, say "kept" only when kept, and skip (and
report) a letter they cannot read."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alerts.dead_letters import DeadLetterStore, Reason, Standing, letter
from alerts.generic import parse_generic
from alerts.receiver import create_app
from alerts.replay import replay
from firebreak.cli import app
from tests.alerts.fakes import FIXTURE_NOW, FakeStarter, Receiver, bearer, receiver, settings
from tests.alerts.signing import Signer, fixture_bytes, fixture_json

runner = CliRunner()


def _with_store(rx: Receiver, store: DeadLetterStore, tmp_path: Path) -> Receiver:
    application = create_app(
        settings(tmp_path), starter=rx.starter, dead_letters=store, clock=lambda: FIXTURE_NOW
    )
    return Receiver(TestClient(application), rx.starter, store, [], [])


def _generic(fingerprint: str, **fields: object) -> bytes:
    alert = dict(fixture_json("generic_firing.json"), fingerprint=fingerprint, **fields)
    return json.dumps(alert).encode()


def test_unauthenticated_requests_fill_only_their_own_small_quota(tmp_path: Path, signer: Signer) -> None:
    store = DeadLetterStore(tmp_path / "dead", max_letters=10, unauthenticated_max=3)
    rx = _with_store(receiver(tmp_path, signer.pem), store, tmp_path)
    big = b'{"junk": "' + b"x" * 200_000 + b'"}'
    for _ in range(20):
        assert rx.client.post("/alerts/generic", content=big).status_code == 401
    kept = store.entries()
    assert len(kept) == 3
    assert all(dead.standing is Standing.UNAUTHENTICATED for _, dead in kept)
    assert all(len(dead.body) <= 4096 for _, dead in kept)  # a stranger's body is not kept whole
    rx.starter.down = True
    response = rx.client.post(
        "/alerts/generic", content=fixture_bytes("generic_firing.json"), headers=bearer()
    )
    assert response.status_code == 503
    assert response.json()["kept"], response.json()


def test_many_unroutable_alerts_in_one_request_do_not_copy_the_body(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem)
    alerts = [
        dict(fixture_json("generic_firing.json"), fingerprint=f"fp-{i}", service=None, environment=None)
        for i in range(300)
    ]
    body = json.dumps(alerts).encode()
    response = rx.client.post("/alerts/generic", content=body, headers=bearer())
    assert response.status_code == 200
    letters = rx.store.entries()
    assert len(letters) == 300
    # Each letter holds its own alert (normalised, and the sender's raw part), not the body:
    # before, each held the whole body and this request wrote 300 copies of it.
    on_disk = sum(path.stat().st_size for path, _ in letters)
    assert on_disk < 5 * len(body)
    assert all(dead.body_bytes() != body for _, dead in letters)


def test_retries_of_one_occurrence_keep_one_letter_that_counts_them(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem)
    rx.starter.down = True
    ids = set()
    for _ in range(9):
        response = rx.client.post("/alerts/generic", content=_generic("one-alert"), headers=bearer())
        assert response.status_code == 503
        ids.update(response.json()["kept"])
    ((_, dead),) = rx.store.entries()
    assert dead.retryable and dead.attempts == 9
    assert ids == {dead.id}
    # Another onset of the same condition is another occurrence: its own letter.
    rx.client.post(
        "/alerts/generic",
        content=_generic("one-alert", starts_at="2026-11-14T10:40:00+00:00"),
        headers=bearer(),
    )
    assert len(rx.store.entries()) == 2


def test_room_is_reserved_for_retryable_letters(tmp_path: Path, signer: Signer) -> None:
    store = DeadLetterStore(tmp_path / "dead", max_letters=8, retry_reserve=4)
    rx = _with_store(receiver(tmp_path, signer.pem), store, tmp_path)
    for i in range(10):
        rx.client.post(
            "/alerts/generic",
            content=_generic(f"nowhere-{i}", service="unknown-svc", environment=None),
            headers=bearer(),
        )
    assert len(store.entries()) == 4
    rx.starter.down = True
    response = rx.client.post("/alerts/generic", content=_generic("real"), headers=bearer())
    assert response.json()["kept"]
    assert [dead.reason for _, dead in store.entries()].count(Reason.PREFECT_UNAVAILABLE) == 1


def test_nothing_kept_is_not_called_kept(tmp_path: Path, signer: Signer) -> None:
    store = DeadLetterStore(tmp_path / "dead", max_letters=1)
    rx = _with_store(receiver(tmp_path, signer.pem), store, tmp_path)
    rx.starter.down = True
    first = rx.client.post("/alerts/generic", content=_generic("a"), headers=bearer())
    second = rx.client.post("/alerts/generic", content=_generic("b"), headers=bearer())
    assert first.json()["kept"] and "kept for retry" in first.json()["detail"]
    assert second.status_code == 503
    assert second.json()["kept"] == []
    assert "kept" not in second.json()["detail"].replace("not kept", "")


def _seed_unreadable(directory: Path) -> Path:
    store = DeadLetterStore(directory)
    good = parse_generic(fixture_bytes("generic_firing.json")).alerts[0]
    store.put(
        letter(
            "generic", Reason.PREFECT_UNAVAILABLE, "down", body=b"{}", headers={}, alert=good, retryable=True
        )
    )
    nested = "[" * 200 + "]" * 200
    (directory / "20261114T101500000000Z-retryable-generic-prefect-unavailable-0badc0de.json").write_text(
        '{"source": "generic", "reason": "prefect-unavailable", "retryable": true, "alert": {"raw": '
        + nested
        + "}}"
    )
    bad = directory / "20261114T101400000000Z-authenticated-generic-malformed-deadbeef.json"
    bad.write_text("{not json")
    return bad


def test_dead_letters_lists_the_readable_and_reports_the_unreadable(tmp_path: Path) -> None:
    bad = _seed_unreadable(tmp_path)
    result = runner.invoke(app, ["alert", "dead-letters", "--dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "prefect-unavailable" in result.stdout
    assert f"skipped unreadable letter {bad}" in result.output
    assert "0badc0de" in result.output


def test_replay_delivers_the_readable_and_reports_the_unreadable(tmp_path: Path) -> None:
    bad = _seed_unreadable(tmp_path)
    starter = FakeStarter()
    results = replay(DeadLetterStore(tmp_path), starter)
    assert [r.delivered for r in results].count(True) == 1
    assert [str(r.path) for r in results if not r.delivered and r.unreadable] == sorted(
        [
            str(bad),
            str(tmp_path / "20261114T101500000000Z-retryable-generic-prefect-unavailable-0badc0de.json"),
        ]
    )
    assert len(starter.runs) == 1


def test_letters_are_written_mode_0600(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dead")
    path = store.put(letter("generic", Reason.MALFORMED, "bad", body=b"{", headers={}))
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dead").stat().st_mode) == 0o700
