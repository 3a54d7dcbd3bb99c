"""Render an evidence bundle as a short markdown digest.

The digest goes into a Prefect markdown artifact and into approval forms, where a person has
seconds to read it: one table row per region, then the newest changes, the sources that could
not be read, the top error log signatures (lines grouped once numbers and ids are masked,
counted), the failing dependencies, each list capped so the digest stays a few dozen lines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.evidence import EvidenceBundle, RegionEvidence

MAX_CHANGES = 10
MAX_SOURCE_ERRORS = 8
MAX_LOG_LINES = 5
MAX_TEXT = 120


def render_summary(bundle: EvidenceBundle) -> str:
    """The whole digest; pure, so tests can compare it line by line."""
    lines = [
        f"### Evidence: {bundle.service} / {bundle.environment}",
        f"Onset {bundle.onset.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC · read "
        f"{_hms(bundle.window_start)} → {_hms(bundle.collected_at)}",
        "",
        "| region | key metrics (latest) | alarms in ALARM | healthy targets | ECS running/desired "
        "| ASG healthy/desired | log errors |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_region_row(bundle.regions[r]) for r in sorted(bundle.regions)]
    lines += _capped(
        "Changes (newest last)",
        [
            f"- {_hms(c.at)} `{c.kind}` {c.region} {_clip(c.resource)}: {_clip(c.summary)}"
            for c in bundle.changes
        ],
        MAX_CHANGES,
        newest_last=True,
    )
    lines += _capped(
        "Sources not read",
        [f"- {e.source} ({e.region}): {_clip(e.error)}" for e in bundle.source_errors],
        MAX_SOURCE_ERRORS,
    )
    logs = [
        f"- {r} {s.count}x {_clip(s.signature)}"
        for r in sorted(bundle.regions)
        for s in bundle.regions[r].log_signatures()
    ]
    lines += _capped("Log error signatures", logs, MAX_LOG_LINES)
    failing = [
        f"- {r} {name}: metric {h.metric_value}, alarm {h.alarm_state or 'none'}"
        for r in sorted(bundle.regions)
        for name, h in sorted(bundle.regions[r].dependencies.items())
        if h.unhealthy
    ]
    lines += _capped("Dependencies failing", failing, MAX_SOURCE_ERRORS)
    return "\n".join(lines)


def _region_row(ev: RegionEvidence) -> str:
    metrics = []
    for spec in ev.metric_specs:
        value = ev.latest(spec.name)
        verdict = {True: "", False: " ✗", None: " ?"}[ev.metric_is_healthy(spec.name)]
        metrics.append(f"{spec.name} {'n/a' if value is None else f'{value:g}'}{verdict}")
    alarming = [name for name, state in ev.alarms.items() if state == "ALARM"]
    healthy = sum(t.state == "healthy" for t in ev.targets)
    cells = [
        ev.region,
        ", ".join(metrics) or "-",
        ", ".join(alarming) or "none",
        f"{healthy}/{len(ev.targets)}" if ev.targets else "-",
        _ecs_cell(ev),
        f"{ev.asg.healthy_in_service}/{ev.asg.desired}" if ev.asg else "-",
        str(len(ev.log_errors)),
    ]
    return "| " + " | ".join(cells) + " |"


def _ecs_cell(ev: RegionEvidence) -> str:
    if ev.ecs is None:
        return "-"
    revision = ev.ecs.task_definition.rsplit("/", 1)[-1]
    return f"{revision} {ev.ecs.running}/{ev.ecs.desired}"


def _capped(title: str, items: list[str], cap: int, *, newest_last: bool = False) -> list[str]:
    if not items:
        return []
    shown = items[-cap:] if newest_last else items[:cap]
    more = f" — {len(items) - cap} more not shown" if len(items) > cap else ""
    return ["", f"**{title}** ({len(items)}{more})", *shown]


def _hms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S")


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"
