"""The hard-outage test for the maintenance page. Pure; flows.resolve asks it only after every
other candidate failed, was denied or was rejected: a maintenance page turns every user away,
so it is never a first-round hypothesis."""

from __future__ import annotations

from tasks.catalog import Comparison, MetricSpec


def beyond_outage(spec: MetricSpec, value: float | None, threshold: float | None) -> bool:
    """Whether ``value`` of the key metric is at or beyond the catalog's ``outage_threshold``,
    in the metric's unhealthy direction. No data or no threshold: False (never a guess)."""
    if value is None or threshold is None:
        return False
    if spec.healthy_when is Comparison.BELOW:
        return value >= threshold
    return value <= threshold
