"""Benchmark 4: how diagnose's wall time grows with regions, catalog size and source concurrency.

Diagnose = ``tasks.snapshot.take_snapshot`` (every source of every region, in a thread pool)
plus the pure ``flows.diagnosis.diagnose``. One moto server (in-process) holds checkout,
seeded in up to ``--max-regions`` regions by the drills' own ``seed_region``; the catalog is
then padded with copies of checkout's entry under other service names, which the snapshot must
ignore. Each point is the median of ``--repeats`` snapshots with warm clients; catalog load
time (YAML + validation) is reported beside it, as every flow run pays it once.

    python -m bench.diagnose_scale --max-regions 8 --services 1 100 1000 --workers 1 8 16
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.stack import exit_on_sigterm, workdir
from bench.stats import emit, progress
from drills import seed_names as n
from drills.sandbox import Sandbox
from drills.seed import seed_checkout, write_catalog
from drills.seed_region import seed_region
from flows.diagnosis import diagnose
from tasks import snapshot
from tasks.aws import client
from tasks.catalog import Catalog, load_catalog

EXTRA_REGIONS = ("us-west-2", "eu-central-1", "ap-southeast-1", "eu-west-2", "sa-east-1", "ca-central-1")


def grow_regions(catalog: Catalog, sandbox: Sandbox, count: int) -> Catalog:
    """checkout seeded in ``count`` regions (the two of seed_checkout, then EXTRA_REGIONS)."""
    entry = catalog.entry(n.SERVICE, n.ENVIRONMENT)
    role_arn = client("iam", sandbox.target()).get_role(RoleName=n.LAMBDA_ROLE)["Role"]["Arn"]
    regions = dict(entry.regions)
    for region in EXTRA_REGIONS[: max(count - len(regions), 0)]:
        regions[region] = seed_region(sandbox.target(region), role_arn)
    kept = dict(list(regions.items())[:count])
    # Weighted DNS across regions only makes sense (and validates) with every region it names.
    route53 = entry.route53 if entry.route53 and set(entry.route53.set_identifiers) <= set(kept) else None
    narrowed = entry.model_copy(update={"regions": kept, "route53": route53})
    return Catalog(services={n.SERVICE: {n.ENVIRONMENT: narrowed}})


def pad_services(catalog: Catalog, total: int) -> Catalog:
    """``catalog`` plus copies of checkout's entry named ``svc-0001``...: ``total`` services in all."""
    entry = catalog.services[n.SERVICE]
    copies = {f"svc-{i:04d}": entry for i in range(1, total)}
    return Catalog(services={n.SERVICE: entry, **copies})


def time_diagnose(catalog: Catalog, sandbox: Sandbox, *, workers: int, repeats: int) -> float:
    """Median seconds of snapshot + diagnose with ``workers`` concurrent sources."""
    snapshot.MAX_WORKERS = workers  # the module's knob: tuned here, read at each snapshot
    aws, entry, samples = sandbox.target(), catalog.entry(n.SERVICE, n.ENVIRONMENT), []
    for _ in range(repeats):
        began = time.perf_counter()
        bundle = snapshot.take_snapshot(
            catalog=catalog,
            service=n.SERVICE,
            environment=n.ENVIRONMENT,
            onset=datetime.now(UTC) - timedelta(seconds=5),
            aws=aws,
        )
        diagnose(bundle, entry)
        samples.append(time.perf_counter() - began)
    return round(statistics.median(samples), 3)


def time_load(catalog: Catalog, path: Path) -> float:
    """Seconds to read and validate the catalog file, as each flow run does once."""
    write_catalog(catalog, path)
    began = time.perf_counter()
    load_catalog(path)
    return round(time.perf_counter() - began, 4)


def run(
    max_regions: int, services: list[int], workers: list[int], repeats: int, where: Path
) -> dict[str, object]:
    default_workers = snapshot.MAX_WORKERS
    region_counts = sorted({c for c in (1, 2, 4, max_regions) if 1 <= c <= max_regions})
    by_regions: list[dict[str, object]] = []
    by_services: list[dict[str, object]] = []
    with Sandbox() as sandbox:
        base = seed_checkout(sandbox.endpoint_url)
        widest = grow_regions(base, sandbox, max_regions)
        time_diagnose(widest, sandbox, workers=default_workers, repeats=1)  # warm every client once
        for count in region_counts:
            catalog = grow_regions(widest, sandbox, count)
            row: dict[str, object] = {"regions": count, "sources": count * len(snapshot.REGION_SOURCES) + 1}
            for w in workers:
                row[f"workers_{w}_s"] = time_diagnose(catalog, sandbox, workers=w, repeats=repeats)
            by_regions.append(row)
            progress(f"regions {row}")
        two = grow_regions(widest, sandbox, min(2, max_regions))
        for total in services:
            padded = pad_services(two, total)
            by_services.append(
                {
                    "services": total,
                    "catalog_load_s": time_load(padded, where / f"catalog-{total}.yaml"),
                    "diagnose_s": time_diagnose(padded, sandbox, workers=default_workers, repeats=repeats),
                }
            )
            progress(f"services {by_services[-1]}")
    snapshot.MAX_WORKERS = default_workers
    return {
        "benchmark": "diagnose_scale",
        "repeats": repeats,
        "default_workers": default_workers,
        "by_regions": by_regions,
        "by_services": by_services,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Diagnose wall time against scale (issue #8).")
    parser.add_argument("--max-regions", type=int, default=8, choices=range(1, 2 + len(EXTRA_REGIONS) + 1))
    parser.add_argument("--services", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="Keep the synthetic catalogs here.")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with workdir(args.workdir) as where:
        emit(run(args.max_regions, args.services, args.workers, max(args.repeats, 1), where))


if __name__ == "__main__":
    main()
