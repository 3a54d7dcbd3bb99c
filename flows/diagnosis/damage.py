"""Rule on how much of the damage a change explains. Pure.

A change confined to one region (a deploy, an alias move: a rollback hypothesis) cannot explain
errors in regions it never touched; a flag switched on reaches every region. When more than one
region is unhealthy and some change explains every one of them, each change that explains only
some gets a negative score part that puts it just below the best change explaining all: closer
to the onset, or in the alerted region, it still ranks after. With one unhealthy region, or no
change explaining all of them, nothing changes.
"""

from __future__ import annotations

from flows.diagnosis.model import Hypothesis, HypothesisKind

BELOW = 0.01  # how far below the best full explanation a partial one is put

_CHANGES = frozenset({HypothesisKind.ROLLBACK, HypothesisKind.DISABLE_FLAG})


def explained(h: Hypothesis, bad: set[str]) -> set[str]:
    """The unhealthy regions ``h``'s change can explain: a flag all of them, a regional change its own."""
    if h.kind is HypothesisKind.DISABLE_FLAG:
        return set(bad)
    return {h.region} & bad if h.region else set()


def weigh_damage(ranked: list[Hypothesis], bad: set[str]) -> list[Hypothesis]:
    """``ranked`` with every change that explains part of the damage put below the best change
    that explains all of it (see the module docstring)."""
    changes = [h for h in ranked if h.kind in _CHANGES]
    full = [h.score for h in changes if explained(h, bad) >= bad]
    if len(bad) < 2 or not full:
        return ranked
    ceiling = max(full) - BELOW
    return [
        _partial(h, bad, ceiling) if h.kind in _CHANGES and not explained(h, bad) >= bad else h
        for h in ranked
    ]


def _partial(h: Hypothesis, bad: set[str], ceiling: float) -> Hypothesis:
    covered = sorted(explained(h, bad))
    reason = (
        f"explains {len(covered)} of {len(bad)} unhealthy regions ({', '.join(covered) or 'none'}); "
        "a change that explains all of them ranks first"
    )
    return h.with_part(reason, round(min(0.0, ceiling - h.score), 3))
