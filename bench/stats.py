"""Summaries and output shared by every benchmark: percentiles, and the one JSON line."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): a value that was really measured.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    """
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def summary(values: Sequence[float], *, digits: int = 3) -> dict[str, float | int]:
    """count, p50, p95, p99, min, max and mean of ``values`` (seconds, usually), rounded."""
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "mean": round(sum(values) / len(values), digits),
    }


def emit(figures: dict[str, Any]) -> None:
    """Print the benchmark's result as ONE JSON line on stdout (progress goes to stderr)."""
    sys.stdout.write(json.dumps(figures, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    """A progress line on stderr, so stdout stays exactly one JSON line."""
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()
