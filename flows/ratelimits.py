"""Durable, shared rate limits that mean what the policy says: at most N in *any* window.

The policy declares "at most N actions per window". A Prefect global concurrency limit with slot
decay is a leaky bucket (a burst of N, then one more every window/N: five rollbacks in forty
minutes under "three per hour"), so it cannot count a sliding window. Instead each limit key has
a ledger of the actions counted against it (a Prefect Variable: shared by every worker, kept
across restarts), and a Prefect global concurrency limit of one slot is the mutex that settles
races between runs reading and writing the ledger.

A slot is *reserved* right before applying and *released* again when nothing was applied
(drift, a refused write, a failed call that changed nothing), so a re-plan never uses up a slot.
A reservation is idempotent per (incident, plan): a re-run after a crash does not count twice.

Windows are counted on one clock, the Prefect server's (:func:`server_now`, from the Date header
of its answer), not on each worker's: two workers whose clocks disagree still count the same
window.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.variables import Variable
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from policies import ActionRequest, Policy, RateLimit

MUTEX_TIMEOUT_SECONDS = 30.0
_log = logging.getLogger(__name__)


def host_clock() -> datetime:
    """This host's clock: only where the Prefect server's time cannot be read."""
    return datetime.now(UTC)


def server_now() -> datetime:
    """The Prefect server's time, to the second (the Date header HTTP servers send); this host's
    clock, with a warning, when the answer has no usable Date header (e.g. a proxy removed it)."""
    with get_client(sync_client=True) as client:
        date = client.hello().headers.get("date")
    try:
        return parsedate_to_datetime(date).astimezone(UTC)
    except (TypeError, ValueError):
        _log.warning("no usable Date header from the Prefect server (%r): using this host's clock", date)
        return host_clock()


class LedgerEntry(BaseModel):
    """One action counted against a limit."""

    at: AwareDatetime
    incident: str
    plan: str


class Slot(BaseModel):
    """A reservation: the limit key and the ledger entry that holds its place."""

    key: str
    entry: LedgerEntry


class Reservation(BaseModel):
    """What :func:`reserve` got: a place in every applicable limit, or the first full limit."""

    slots: list[Slot] = Field(default_factory=list, description="Held; empty when a limit was full.")
    full: str | None = Field(default=None, description="The key of the full limit; None when reserved.")


_LEDGER = TypeAdapter(list[LedgerEntry])


def _slug(key: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-")


def limit_name(key: str) -> str:
    """The name of the ledger Variable of a policy rate-limit key."""
    return "firebreak-rate-" + _slug(key)


@contextmanager
def _locked(key: str) -> Iterator[None]:
    """Hold the key's mutex: a one-slot Prefect global concurrency limit, made sure of first
    (cheap, and only on the rare path of a mutating action)."""
    name = "firebreak-mutex-" + _slug(key)
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name=name, limit=1)
    with concurrency(name, occupy=1, timeout_seconds=MUTEX_TIMEOUT_SECONDS, strict=True):
        yield


def _read(key: str) -> list[LedgerEntry]:
    return _LEDGER.validate_python(Variable.get(limit_name(key), default=[]) or [])


def _write(key: str, entries: list[LedgerEntry]) -> None:
    Variable.set(limit_name(key), _LEDGER.dump_python(entries, mode="json"), overwrite=True)


def _in_window(entries: list[LedgerEntry], limit: RateLimit, now: datetime) -> list[LedgerEntry]:
    start = now - timedelta(minutes=limit.window_minutes)
    return [e for e in entries if e.at > start]


def current_counts(request: ActionRequest, policy: Policy, *, now: datetime | None = None) -> dict[str, int]:
    """Actions counted inside each applicable limit's window: the decision context's counts."""
    moment = now or server_now()
    return {
        key: len(_in_window(_read(key), limit, moment))
        for limit in policy.rate_limits
        if (key := limit.key_for(request)) is not None
    }


def reserve(
    request: ActionRequest, policy: Policy, *, incident_id: str, plan_hash: str, now: datetime | None = None
) -> Reservation:
    """Take a place in every applicable limit, or name the first one that is full.

    Nothing stays reserved when a limit is full or a reservation raises (a mutex timeout, the
    Prefect API failing): places taken in earlier limits are released before returning or
    re-raising. ``now`` is the moment counted (default: the Prefect server's, :func:`server_now`).
    """
    moment = now or server_now()
    taken: list[Slot] = []
    try:
        for limit in policy.rate_limits:
            key = limit.key_for(request)
            if key is None:
                continue
            slot = _reserve_one(key, limit, LedgerEntry(at=moment, incident=incident_id, plan=plan_hash))
            if slot is None:
                release(taken)
                return Reservation(full=key)
            taken.append(slot)
    except BaseException:
        release(taken)
        raise
    return Reservation(slots=taken)


def _reserve_one(key: str, limit: RateLimit, entry: LedgerEntry) -> Slot | None:
    with _locked(key):
        live = _in_window(_read(key), limit, entry.at)
        mine = next((e for e in live if (e.incident, e.plan) == (entry.incident, entry.plan)), None)
        if mine is not None:
            return Slot(key=key, entry=mine)
        if len(live) >= limit.max_count:
            return None
        _write(key, [*live, entry])
    return Slot(key=key, entry=entry)


def release(slots: list[Slot]) -> None:
    """Give reserved places back (the action did not apply)."""
    for slot in slots:
        with _locked(slot.key):
            _write(slot.key, [e for e in _read(slot.key) if e != slot.entry])
