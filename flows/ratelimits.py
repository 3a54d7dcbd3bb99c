"""Durable, shared rate limits: Prefect global concurrency limits with slot decay.

The policy declares "at most N per window"; the counting lives in the Prefect server, not in
process memory, so every worker and every concurrent incident shares it and it survives
restarts. A limit with N slots decaying at N/window per second is a leaky bucket: a burst of N,
then one more every window/N. ``strict=True`` makes a missing limit an error instead of a
silent pass.
"""

from __future__ import annotations

import re

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound

from policies import ActionRequest, Policy


def limit_name(key: str) -> str:
    """The Prefect limit name for a policy rate-limit key (letters, digits, dashes)."""
    return "firebreak-" + re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-")


def _ensure(name: str, max_count: int, window_minutes: float) -> None:
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(
            name=name, limit=max_count, slot_decay_per_second=max_count / (window_minutes * 60)
        )


def current_counts(request: ActionRequest, policy: Policy) -> dict[str, int]:
    """The slots in use for every limit that applies to ``request``: the decision context's counts."""
    counts: dict[str, int] = {}
    with get_client(sync_client=True) as client:
        for limit in policy.rate_limits:
            key = limit.key_for(request)
            if key is None:
                continue
            try:
                counts[key] = client.read_global_concurrency_limit_by_name(limit_name(key)).active_slots
            except ObjectNotFound:
                counts[key] = 0
    return counts


def acquire(request: ActionRequest, policy: Policy, *, timeout_seconds: float = 10.0) -> str | None:
    """Take one slot of every limit that applies, right before applying.

    Returns None when allowed, else the key of the exhausted limit (the action must not run).
    The decision already denied what the counts showed exhausted, so this only settles races
    between runs; the timeout is generous because a loaded server answers slowly, and a slot
    that is really gone would otherwise take window/N to come back.
    """
    for limit in policy.rate_limits:
        key = limit.key_for(request)
        if key is None:
            continue
        name = limit_name(key)
        _ensure(name, limit.max_count, limit.window_minutes)
        try:
            rate_limit(name, timeout_seconds=timeout_seconds, strict=True)
        except TimeoutError:
            return key
    return None
