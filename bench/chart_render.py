"""How long the postmortem chart takes for a large incident: 8 regions, 2 hours of 1 s datapoints
(57,600 points) and 40 markers. Prints the median of 5 renders; the target is under a second.

    .venv/bin/python -m bench.chart_render
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, datetime, timedelta

from flows.chart import ChartSpec, IncidentMetrics, Marker, MarkerKind, render_chart
from tasks.catalog import Comparison
from tasks.evidence import Datapoint

REGIONS = 8
SECONDS = 2 * 3600
MARKERS = 40


def spec() -> ChartSpec:
    onset = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    regions = {
        f"region-{r}": [
            Datapoint(at=onset + timedelta(seconds=s), value=0.02 + 0.3 * max(math.sin(s / 900 + r), 0))
            for s in range(SECONDS)
        ]
        for r in range(REGIONS)
    }
    kinds = list(MarkerKind)
    markers = [
        Marker(
            kind=kinds[i % len(kinds)], at=onset + timedelta(seconds=i * SECONDS // MARKERS), label=f"m{i}"
        )
        for i in range(MARKERS)
    ]
    metrics = IncidentMetrics(
        metric="error_rate", healthy_threshold=0.05, healthy_when=Comparison.BELOW, regions=regions
    )
    return ChartSpec(title="bench", onset=onset, metrics=metrics, markers=markers)


def main() -> None:
    chart = spec()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        rendering = render_chart(chart)
        times.append(time.perf_counter() - start)
    points = sum(rendering.points.values())
    print(
        f"chart: {REGIONS} regions x {SECONDS} s = {points} points, {len(rendering.markers)} markers: "
        f"median {statistics.median(times):.3f} s, max {max(times):.3f} s, "
        f"PNG {len(rendering.png) / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
