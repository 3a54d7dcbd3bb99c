"""Collect an evidence bundle for a service around an incident's onset.

Every source (metrics, the traffic baseline, alarms, logs, target health, ECS, Lambda, ASG,
CloudTrail and the catalogued dependencies per region, plus the flag history) runs
concurrently in a bounded thread pool: boto3 clients are thread-safe and a snapshot is
I/O-bound, so a two-region service is read in about the time of its slowest call. A source
that fails for any reason, including ``NotImplementedError`` from moto, becomes a
:class:`SourceError` in the bundle: diagnosis must see what it could not see, and one broken
permission must never cost the whole picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.aws import AwsTarget
from tasks.catalog import Catalog, CatalogError, RegionResources, ServiceEnvironment
from tasks.evidence import ChangeEvent, EvidenceBundle, RegionEvidence, SourceError
from tasks.snapshot_dependencies import dependency_source
from tasks.snapshot_deploys import asg_source, ecs_source, lambda_source
from tasks.snapshot_flags import flag_source
from tasks.snapshot_sources import (
    Found,
    Window,
    alarms_source,
    baseline_source,
    cloudtrail_source,
    logs_source,
    metrics_source,
    targets_source,
)

logger = logging.getLogger(__name__)

MAX_WORKERS = 8
DEFAULT_LOOKBACK = timedelta(minutes=30)

RegionSource = Callable[[RegionResources, AwsTarget, Window], Found]

REGION_SOURCES: dict[str, RegionSource] = {
    "cloudwatch.metrics": metrics_source,
    "cloudwatch.baseline": baseline_source,
    "cloudwatch.alarms": alarms_source,
    "logs": logs_source,
    "elbv2.targets": targets_source,
    "ecs": ecs_source,
    "lambda": lambda_source,
    "autoscaling": asg_source,
    "cloudtrail": cloudtrail_source,
}


def take_snapshot(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    onset: datetime,
    aws: AwsTarget,
    lookback: timedelta = DEFAULT_LOOKBACK,
    metric_names: list[str] | None = None,
    now: datetime | None = None,
) -> EvidenceBundle:
    """Read every evidence source of ``service`` in ``environment`` across its regions.

    ``aws`` gives the role and endpoint; its region is replaced by each catalogued region.
    ``metric_names`` limits the metrics read (e.g. to the alert's own metric). Raises
    CatalogError for an unknown service or metric name; never raises for an AWS failure.
    """
    if onset.tzinfo is None or lookback <= timedelta(0):
        raise ValueError("onset must be timezone-aware and lookback positive")
    entry = catalog.entry(service, environment)
    collected_at = now or datetime.now(UTC)
    window = Window(start=onset - lookback, end=max(collected_at, onset), onset=onset)
    resources = _with_metrics(entry, metric_names)
    jobs: list[tuple[str, str, Callable[[], Found]]] = [
        (name, region, _bind(source, res, aws.in_region(region), window))
        for region, res in resources.items()
        for name, source in REGION_SOURCES.items()
    ]
    if entry.flags is not None:
        store, store_aws = entry.flags, aws.in_region(entry.flags.region)
        jobs.append(("flags", store.region, lambda: flag_source(store, store_aws, window)))
    if entry.dependencies:
        jobs += [
            ("dependencies", region, _bind_dependencies(entry, aws.in_region(region), window))
            for region in resources
        ]

    found: dict[str, list[Found]] = {region: [] for region in resources}
    changes: list[ChangeEvent] = []
    errors: list[SourceError] = []
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
        futures = [(name, region, pool.submit(job)) for name, region, job in jobs]
        for name, region, future in futures:
            try:
                result = future.result()
            except Exception as e:  # any failure of one source is evidence, not a crash
                # A warning without the stack (moto's gaps would flood the log); debug has it.
                logger.warning("snapshot source %s in %s failed: %r", name, region, e)
                logger.debug("snapshot source %s in %s failed", name, region, exc_info=True)
                errors.append(SourceError(source=name, region=region, error=f"{type(e).__name__}: {e}"))
                continue
            found.setdefault(region, []).append(result)
            changes += result.changes

    regions = {
        region: RegionEvidence(
            region=region,
            metric_specs=resources[region].metrics,
            **{k: v for f in found[region] for k, v in f.region_fields().items()},
        )
        for region in resources
    }
    return EvidenceBundle(
        service=service,
        environment=environment,
        onset=onset,
        window_start=window.start,
        collected_at=collected_at,
        regions=regions,
        changes=sorted(changes, key=lambda c: (c.at, c.kind, c.region, c.resource)),
        source_errors=errors,
    )


collect_snapshot = task(name="collect-snapshot", cache_policy=NO_CACHE)(take_snapshot)
"""The Prefect task of :func:`take_snapshot` (``collect_snapshot.fn is take_snapshot``)."""


def _bind(source: RegionSource, res: RegionResources, aws: AwsTarget, window: Window) -> Callable[[], Found]:
    return lambda: source(res, aws, window)


def _bind_dependencies(entry: ServiceEnvironment, aws: AwsTarget, window: Window) -> Callable[[], Found]:
    return lambda: dependency_source(entry.dependencies, aws, window)


def _with_metrics(entry: ServiceEnvironment, names: list[str] | None) -> dict[str, RegionResources]:
    """The catalogued regions, keeping only the requested metrics (all when ``names`` is None)."""
    if names is None:
        return dict(entry.regions)
    known = {m.name for res in entry.regions.values() for m in res.metrics}
    unknown = sorted(set(names) - known)
    if unknown:
        raise CatalogError(f"unknown metric names {unknown} (catalog has: {', '.join(sorted(known))})")
    return {
        region: res.model_copy(update={"metrics": [m for m in res.metrics if m.name in names]})
        for region, res in entry.regions.items()
    }
