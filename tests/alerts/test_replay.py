from __future__ import annotations

from pathlib import Path

from alerts.dead_letters import DeadLetterStore, Reason, letter
from alerts.generic import parse_generic
from alerts.replay import replay
from tests.alerts.fakes import FakeStarter
from tests.alerts.signing import fixture_bytes


def _seed(store: DeadLetterStore) -> None:
    firing, resolved = parse_generic(fixture_bytes("generic_list.json")).alerts
    for alert in (firing, resolved):
        store.put(
            letter(
                "generic",
                Reason.PREFECT_UNAVAILABLE,
                "down",
                body=b"{}",
                headers={},
                alert=alert,
                retryable=True,
            )
        )
    store.put(letter("generic", Reason.MALFORMED, "bad", body=b"{", headers={}))


def test_replay_delivers_retryable_alerts_and_removes_them(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path)
    _seed(store)
    starter = FakeStarter()

    results = replay(store, starter)

    assert [r.delivered for r in results] == [True, True]
    assert len(starter.runs) == 1
    assert [a.fingerprint for a in starter.resolved] == ["cron/nightly-settlement"]
    assert [dead.reason for _, dead in store.entries()] == [Reason.MALFORMED]


def test_replay_keeps_letters_while_prefect_is_still_down(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path)
    _seed(store)
    results = replay(store, FakeStarter(down=True))
    assert [r.delivered for r in results] == [False, False]
    assert len(store.entries()) == 3
