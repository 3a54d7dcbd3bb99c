"""Replaying dead letters whose alert was parsed but could not be handed to Prefect.

The receiver keeps such alerts (reason prefect-unavailable or prefect-rejected, ``retryable``)
with the parsed alert inside, so a replay needs no credentials and no re-verification: the
payload was authenticated when it arrived. Replaying twice is harmless: the starter is
idempotent on the dedup key. A letter is removed only once it has been delivered.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from alerts.dead_letters import DeadLetterStore
from alerts.errors import StarterError
from alerts.intake import deliver
from alerts.starter import IncidentStarter


class Replayed(BaseModel):
    """What happened to one retryable letter."""

    model_config = ConfigDict(frozen=True)

    path: Path
    delivered: bool
    detail: str
    unreadable: bool = False


def replay(store: DeadLetterStore, starter: IncidentStarter) -> list[Replayed]:
    """Deliver every retryable letter that carries an alert; keep the ones that fail again.

    A file that is not a readable letter is skipped and reported (``unreadable``), so one bad
    file does not stop the others from being replayed.
    """
    letters, unreadable = store.scan()
    results = [Replayed(path=u.path, delivered=False, detail=u.problem, unreadable=True) for u in unreadable]
    for path, dead in letters:
        if not dead.retryable or dead.alert is None:
            continue
        try:
            run = deliver(dead.alert, starter)
        except StarterError as e:
            results.append(Replayed(path=path, delivered=False, detail=str(e)))
            continue
        store.remove(path)
        detail = (
            f"resolution of {dead.alert.fingerprint} recorded"
            if run is None
            else (f"incident run {run.flow_run_id} ({'new' if run.created else 'existing'})")
        )
        results.append(Replayed(path=path, delivered=True, detail=detail))
    return results
