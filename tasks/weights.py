"""Pure weight arithmetic shared by every traffic shift (Route 53, ALB, Lambda alias).

A shift is decided here, without AWS: where the weights go, how many points move, what share
of traffic that is (the blast radius) and whether the result is safe. Weights are keyed by
whatever the mechanism routes to (a region, a target group ARN, a Lambda version).
"""

from __future__ import annotations

from tasks.plan import ActionError

Weights = dict[str, int]


class ShiftError(ActionError):
    """A requested shift is unsafe or malformed (all weights zero, out of range, bad step)."""


def shift_away(current: Weights, away_from: str, step: int | None = None) -> Weights:
    """Move weight off ``away_from`` onto the others, in proportion to their current weights.

    At most ``step`` points move (all of ``away_from``'s weight when ``step`` is None). When
    every other key is at zero the moved weight is split evenly. The total is preserved.

    >>> shift_away({"a": 100, "b": 50, "c": 50}, "a", step=40)
    {'a': 60, 'b': 70, 'c': 70}
    """
    _check_step(step)
    amount = current[away_from] if step is None else min(step, current[away_from])
    others = sorted(k for k in current if k != away_from)
    if not others:
        raise ShiftError(f"cannot shift away from {away_from!r}: it is the only destination")
    basis = {k: current[k] for k in others}
    if sum(basis.values()) == 0:
        basis = dict.fromkeys(others, 1)
    gains = _split(amount, basis)
    after = dict(current)
    after[away_from] -= amount
    for k, gain in gains.items():
        after[k] += gain
    return after


def step_toward(current: Weights, target: Weights, step: int | None = None) -> Weights:
    """Move from ``current`` toward ``target`` by at most ``step`` points on each side.

    Keys missing from ``target`` keep their weight; new keys start from 0. Used for gradual
    return during recovery: call repeatedly until the result equals the target. Decreases and
    increases are taken in key order, so the result is deterministic.

    >>> step_toward({"a": 0, "b": 100}, {"a": 100, "b": 0}, step=25)
    {'a': 25, 'b': 75}
    """
    _check_step(step)
    full = {**current, **target}
    if step is None or moved_points(current, full) <= step:
        return full
    after = {k: current.get(k, 0) for k in full}
    down_budget = up_budget = step
    for k in sorted(full):
        delta = full[k] - after[k]
        if delta < 0:
            take = min(-delta, down_budget)
            after[k] -= take
            down_budget -= take
        elif delta > 0:
            give = min(delta, up_budget)
            after[k] += give
            up_budget -= give
    return after


def moved_points(before: Weights, after: Weights) -> int:
    """Weight points that change hands: the larger of total decrease and total increase."""
    keys = set(before) | set(after)
    down = sum(max(0, before.get(k, 0) - after.get(k, 0)) for k in keys)
    up = sum(max(0, after.get(k, 0) - before.get(k, 0)) for k in keys)
    return max(down, up)


def blast_radius(before: Weights, after: Weights) -> float:
    """Share of traffic that changes destination (total variation between the two splits).

    >>> blast_radius({"a": 100, "b": 0}, {"a": 50, "b": 50})
    0.5
    """
    b_total, a_total = sum(before.values()), sum(after.values())
    if b_total == 0 or a_total == 0:
        return 1.0
    keys = set(before) | set(after)
    moved = sum(max(0.0, before.get(k, 0) / b_total - after.get(k, 0) / a_total) for k in keys)
    return round(min(1.0, moved), 4)


def check_weights(weights: Weights, *, max_weight: int, what: str) -> None:
    """Refuse weights out of ``0..max_weight`` and, above all, a split that sends nothing anywhere."""
    bad = {k: w for k, w in weights.items() if not 0 <= w <= max_weight}
    if bad:
        raise ShiftError(f"{what}: weights must be within 0..{max_weight}, got {bad}")
    if not any(weights.values()):
        raise ShiftError(f"{what}: refusing to set every weight to zero (no traffic would be served)")


def describe(before: Weights, after: Weights) -> str:
    """``a 100→60, b 0→40`` for the keys that change; used in plan summaries."""
    changes = [f"{k} {before.get(k, 0)}→{after[k]}" for k in sorted(after) if before.get(k, 0) != after[k]]
    return ", ".join(changes) or "no change"


def _check_step(step: int | None) -> None:
    if step is not None and step < 1:
        raise ShiftError(f"step must be at least 1 weight point, got {step}")


def _split(amount: int, basis: Weights) -> Weights:
    """Split ``amount`` in proportion to ``basis`` with largest remainders (sums exactly)."""
    total = sum(basis.values())
    shares = {k: amount * w / total for k, w in basis.items()}
    parts = {k: int(s) for k, s in shares.items()}
    left = amount - sum(parts.values())
    for k in sorted(shares, key=lambda k: (-(shares[k] - parts[k]), k))[:left]:
        parts[k] += 1
    return parts
