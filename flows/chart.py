"""The postmortem's chart: the triggering metric per region over the incident, with its healthy
threshold and a marker for every moment that matters (alert onset, confirmation, each decision,
each approval answer, each applied change, recovery).

``chart_spec`` is pure (report + timeline + the stored series -> what to draw);
``render_chart`` draws it with matplotlib's Agg canvas (no display, no pyplot state, so it is
safe in a worker) and returns the PNG together with the data read back from the drawn artists,
so tests check what was plotted rather than pixels. matplotlib and numpy are imported by
``render_chart`` itself: importing this module (every incident run does, at its start) costs
none of their ~0.7 s (docs/performance.md); the run pays it at report time, after mitigating.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, Field

from flows.report import IncidentReport, on_clock
from flows.timeline import Stage, Timeline
from tasks.catalog import Comparison
from tasks.evidence import Datapoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class MarkerKind(StrEnum):
    ALERT = "alert"
    CONFIRMED = "confirmed"
    DECISION = "decision"
    APPROVAL = "approval"
    APPLIED = "applied"
    RECOVERED = "recovered"


# timeline event -> marker (the alert's marker is the report's onset, not an entry)
_EVENT_MARKERS = {
    "confirmed": MarkerKind.CONFIRMED,
    "decision": MarkerKind.DECISION,
    "approval-answer": MarkerKind.APPROVAL,
    "human-action-confirmed": MarkerKind.APPROVAL,
    "applied": MarkerKind.APPLIED,
    "recovered": MarkerKind.RECOVERED,
}
_STYLE = {
    MarkerKind.ALERT: ("tab:red", "-"),
    MarkerKind.CONFIRMED: ("tab:orange", "--"),
    MarkerKind.DECISION: ("tab:gray", ":"),
    MarkerKind.APPROVAL: ("tab:purple", "-."),
    MarkerKind.APPLIED: ("tab:blue", "-"),
    MarkerKind.RECOVERED: ("tab:green", "-"),
}


class IncidentMetrics(BaseModel):
    """The triggering metric of every region over the incident, as read from CloudWatch at
    report time (``metrics.json`` next to the report), so any past incident can be drawn."""

    metric: str = Field(description="Catalog metric name, e.g. error_rate.")
    healthy_threshold: float
    healthy_when: Comparison
    regions: dict[str, list[Datapoint]] = Field(default_factory=dict)


class Marker(BaseModel):
    kind: MarkerKind
    at: AwareDatetime
    label: str


class ChartSpec(BaseModel):
    title: str
    onset: AwareDatetime = Field(description="x = 0: time is counted from the alert's onset.")
    metrics: IncidentMetrics
    markers: list[Marker]
    drill_speed: float | None = Field(
        default=None, gt=0, description="A drill's clock (IncidentReport.drill_speed): x is drill time."
    )


class ChartRendering(BaseModel):
    """The PNG and what was drawn, read back from the figure's artists."""

    png: bytes
    points: dict[str, int] = Field(description="region -> datapoints drawn")
    threshold: float | None
    markers: list[Marker] = Field(description="Vertical markers drawn, in drawing order.")
    marker_x: list[float] = Field(description="Each marker's x, in the axis' unit.")
    x_range: tuple[float, float] = Field(description="The first and last x of the series drawn.")
    x_label: str


def chart_spec(report: IncidentReport, timeline: Timeline, metrics: IncidentMetrics) -> ChartSpec:
    """What the chart shows: the stored series and one marker per relevant timeline entry."""
    markers = [Marker(kind=MarkerKind.ALERT, at=report.started_at, label=f"alert {report.alert_name}")]
    markers += [
        Marker(kind=_EVENT_MARKERS[e.event], at=e.at, label=e.message[:60])
        for e in timeline.entries
        if e.event in _EVENT_MARKERS and e.stage is not Stage.RECOVER  # recover runs come days later
    ]
    title = f"{report.incident_id}: {metrics.metric} ({report.service}, {report.environment})"
    if report.drill_speed:
        title += f", drill time (x{report.drill_speed:g})"
    return ChartSpec(
        title=title, onset=report.started_at, metrics=metrics, markers=markers, drill_speed=report.drill_speed
    )


def render_chart(spec: ChartSpec) -> ChartRendering:
    """Draw ``spec`` to a PNG (100 dpi, 10x4.5 in); x is time from the alert's onset, on the
    drill clock for a drill (so its axis and the scorecard agree)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    scale, unit = _unit(spec)
    for region, points in sorted(spec.metrics.regions.items()):
        ax.plot(
            [_x(spec, p.at, scale) for p in points], [p.value for p in points], label=region,
            gid=f"region:{region}", lw=1.2,
        )  # fmt: skip
    side = "below" if spec.metrics.healthy_when is Comparison.BELOW else "above"
    ax.axhline(
        spec.metrics.healthy_threshold, color="black", lw=1, ls="--", gid="threshold",
        label=f"healthy {side} {spec.metrics.healthy_threshold:g}",
    )  # fmt: skip
    labelled: set[MarkerKind] = set()
    for i, marker in enumerate(spec.markers):
        color, style = _STYLE[marker.kind]
        ax.axvline(
            _x(spec, marker.at, scale), color=color, ls=style, lw=1, alpha=0.8, gid=f"marker:{i}",
            label=None if marker.kind in labelled else marker.kind.value,
        )  # fmt: skip
        labelled.add(marker.kind)
    clock = f"drill {unit}" if spec.drill_speed else unit
    ax.set_xlabel(f"{clock} from alert onset ({spec.onset:%Y-%m-%d %H:%M:%S %Z})")
    ax.set_title(spec.title, fontsize=10)
    ax.set_ylabel(spec.metrics.metric)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return ChartRendering(png=buffer.getvalue(), **_drawn(ax, spec, scale))


def _unit(spec: ChartSpec) -> tuple[float, str]:
    """Seconds for an incident shorter than 10 minutes (on its clock), minutes otherwise."""
    moments = [m.at for m in spec.markers] + [p.at for ps in spec.metrics.regions.values() for p in ps[-1:]]
    span = max((on_clock((at - spec.onset).total_seconds(), spec.drill_speed) for at in moments), default=0.0)
    return (1.0, "seconds") if span < 600 else (60.0, "minutes")


def _x(spec: ChartSpec, at: datetime, scale: float) -> float:
    """x of a moment: time from onset on the incident's clock, in the chart's unit (``scale`` s)."""
    return on_clock((at - spec.onset).total_seconds(), spec.drill_speed) / scale


def _drawn(ax: Axes, spec: ChartSpec, scale: float) -> dict[str, object]:
    """Series sizes, threshold, markers (and their x), the series' x range and the x label as
    the axes hold them after drawing."""
    import numpy as np

    points: dict[str, int] = {}
    threshold: float | None = None
    markers: list[Marker] = []
    marker_x: list[float] = []
    series_x: list[float] = []
    for line in ax.get_lines():
        role, _, name = (line.get_gid() or "").partition(":")
        xs, ys = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
        if role == "region":
            points[name] = len(xs)
            series_x += [float(x) for x in xs]
        elif role == "threshold":
            threshold = float(ys[0])
        elif role == "marker":
            wall = on_clock(float(xs[0]) * scale, 1 / spec.drill_speed if spec.drill_speed else None)
            markers.append(
                spec.markers[int(name)].model_copy(update={"at": spec.onset + timedelta(seconds=wall)})
            )
            marker_x.append(float(xs[0]))
    x_range = (min(series_x), max(series_x)) if series_x else (0.0, 0.0)
    return {
        "points": points, "threshold": threshold, "markers": markers, "marker_x": marker_x,
        "x_range": x_range, "x_label": ax.get_xlabel(),
    }  # fmt: skip
