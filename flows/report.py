"""The incident's outcome: a report model, its metrics, the postmortem draft and the artifacts.

The report is written next to the timeline as JSON (drills score it; people read it, the
history indexes it), and the postmortem is a blameless markdown draft built from the timeline,
not from memory, with the incident's chart (flows.chart) when one was drawn.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, Field

from flows.chain import ChainHead
from flows.markdown_escape import escape_markdown
from flows.region_outcome import RegionOutcome
from flows.timeline import Timeline

CHART_FILE = "chart.png"


class Outcome(StrEnum):
    NOT_CONFIRMED = "not_confirmed"
    MITIGATED = "mitigated"
    ESCALATED = "escalated"
    HALTED = "halted"  # kill switch
    NOT_MITIGATED = "not_mitigated"
    FAILED = "failed"
    SHADOW = "shadow"  # shadow mode: everything decided, nothing written


class MitigationStatus(StrEnum):
    """What became of one candidate mitigation."""

    APPLIED = "applied"
    NOOP = "noop"  # live state already as wanted
    WOULD_APPLY = "would_apply"  # shadow mode: decided, not written
    DENIED = "denied"
    HALTED = "halted"  # the kill switch stopped it before (or while) writing
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    DONE = "done"  # a human confirmed a human-only step
    NOT_DONE = "not_done"

    @property
    def in_effect(self) -> bool:
        """The wanted state is live (Firebreak changed it, or it already was)."""
        return self in {MitigationStatus.APPLIED, MitigationStatus.NOOP}


class MitigationRecord(BaseModel):
    """One candidate mitigation and what became of it."""

    hypothesis: str
    kind: str
    tier: str
    rule: str
    status: MitigationStatus
    plan_hash: str | None = None
    plan: dict[str, object] | None = Field(default=None, description="The plan, for would-apply.")
    verified: bool | None = Field(default=None, description="Did the signal recover afterwards?")
    people: list[str] = Field(default_factory=list)
    approvers_needed: list[str] = Field(
        default_factory=list, description="Who could have approved (shadow mode's would-apply)."
    )
    on_timeout: str | None = Field(default=None, description="The policy's answer to an unanswered gate.")
    detail: str = ""


class IncidentReport(BaseModel):
    incident_id: str
    service: str | None
    environment: str | None
    region: str | None
    alert_name: str
    severity: str | None = None
    outcome: Outcome
    message: str
    hypotheses: list[str] = Field(default_factory=list, description="Kinds, best first.")
    mitigations: list[MitigationRecord] = Field(default_factory=list, description="Tried for real.")
    would_apply: list[MitigationRecord] = Field(
        default_factory=list, description="Shadow mode: what would have been applied, in rank order."
    )
    joined_alerts: list[str] = Field(
        default_factory=list, description="Later alerts that joined this incident instead of starting one."
    )
    regions: list[RegionOutcome] = Field(
        default_factory=list,
        description="Each affected region (the alert's and every joined alert's): what was done, what "
        "it came to. Empty when the run never reached mitigation.",
    )
    started_at: datetime
    detected_at: datetime | None = None
    first_mitigation_at: datetime | None = None
    recovered_at: datetime | None = None
    evidence_uri: str | None = None
    timeline_path: str
    postmortem_path: str | None = None
    drill: bool = Field(default=False, description="A drill's record: never ranks real incidents.")
    approval_waits_s: list[float] = Field(
        default_factory=list, description="Seconds from each approval request to its final answer."
    )
    chain_head: ChainHead | None = Field(default=None, description="The timeline's head when reported.")
    chart_path: str | None = None
    drill_speed: float | None = Field(
        default=None, gt=0, description="A drill's clock (drill seconds per wall second): its postmortem "
        "and chart are in drill time. None: a real incident, in wall time.",
    )  # fmt: skip

    def durations(self) -> dict[str, float | None]:
        """Seconds from onset to detection, first mitigation and recovery (wall clock, 0.01 s)."""
        return self._durations(None, 2)

    def drill_durations(self, speed: float) -> dict[str, float | None]:
        """:meth:`durations` on a drill clock running ``speed`` times the wall clock (0.1 s)."""
        return self._durations(speed, 1)

    def _durations(self, speed: float | None, digits: int) -> dict[str, float | None]:
        def since(moment: datetime | None) -> float | None:
            if moment is None:
                return None
            return round(on_clock((moment - self.started_at).total_seconds(), speed), digits)

        return {
            "time_to_detect_s": since(self.detected_at),
            "time_to_first_mitigation_s": since(self.first_mitigation_at),
            "time_to_recovery_s": since(self.recovered_at),
        }

    def clock_durations(self) -> dict[str, float | None]:
        """:meth:`durations` on the incident's clock: drill time for a drill, else wall time."""
        return self.drill_durations(self.drill_speed) if self.drill_speed else self.durations()


def on_clock(wall_seconds: float, speed: float | None) -> float:
    """Seconds on the incident's clock: ``speed`` drill seconds per wall second for a drill (as
    drills.clock.DrillClock), the wall seconds themselves when ``speed`` is None."""
    return wall_seconds * (speed or 1.0)


def _fmt(seconds: float | None) -> str:
    return "n/a" if seconds is None else str(timedelta(seconds=round(seconds)))


def postmortem_markdown(report: IncidentReport, timeline: Timeline, chart_src: str | None = None) -> str:
    """A blameless postmortem draft: summary, impact, chart, timeline, what went well/badly,
    actions. ``chart_src`` is the image's address: the file next to the postmortem, or a data
    URL for the Prefect artifact."""
    d = report.clock_durations()
    applied = [m for m in report.mitigations if m.status is MitigationStatus.APPLIED]
    refused = [m for m in report.mitigations if not m.status.in_effect]
    rows = "\n".join(
        f"| {_when(report, e.at)} | {e.stage} | {escape_markdown(e.actor)} | {escape_markdown(e.message)} |"
        for e in timeline.entries
    )
    went_well = [f"- `{m.kind}` ({m.tier}, rule `{m.rule}`) applied; verified: {m.verified}" for m in applied]
    went_badly = [f"- `{m.kind}`: {m.status} ({m.detail or m.rule})" for m in refused]
    return "\n".join(
        [
            f"# Postmortem draft: {report.incident_id}",
            "",
            "_Blameless. Generated by Firebreak from the incident timeline; edit before publishing._",
            "",
            "## Summary",
            f"{escape_markdown(report.alert_name)} on **{report.service}** "
            f"({report.environment}, {report.region}). "
            f"Severity **{report.severity or 'unclassified'}**. Outcome: **{report.outcome.value}**: "
            f"{report.message}",
            "",
            "## Impact",
            *_drill_note(report),
            f"- Onset: {report.started_at:%Y-%m-%d %H:%M:%S %Z}",
            f"- Time to detect: {_fmt(d['time_to_detect_s'])}; to first mitigation: "
            f"{_fmt(d['time_to_first_mitigation_s'])}; to recovery: {_fmt(d['time_to_recovery_s'])}",
            "- Customer impact: _fill in (who, how many, how long)_",
            "",
            "## Diagnosis",
            *(f"{i}. {h}" for i, h in enumerate(report.hypotheses, 1)),
            "",
            *_shadow_section(report),
            *(
                ["## Alerts that joined", *(f"- {escape_markdown(a)}" for a in report.joined_alerts), ""]
                if report.joined_alerts
                else []
            ),
            *(["## Regions", *(f"- {r.line}" for r in report.regions), ""] if report.regions else []),
            *(
                [f"![{report.incident_id}: the triggering metric per region]({chart_src})", ""]
                if chart_src
                else []
            ),
            "## Timeline",
            f"| {'drill time from onset' if report.drill_speed else 'time'} | stage | who | what |",
            "|---|---|---|---|",
            rows,
            "",
            *_audit_line(report),
            "## What went well",
            *(went_well or ["- _fill in_"]),
            "",
            "## What did not",
            *(went_badly or ["- _fill in_"]),
            "",
            "## Action items",
            "- [ ] _root-cause fix (owner, due date)_",
            "- [ ] _detection/alerting improvement_",
            "- [ ] _runbook or policy change_",
            "",
        ]
    )


def _drill_note(report: IncidentReport) -> list[str]:
    if not report.drill_speed:
        return []
    return [
        f"- _A drill: durations, the timeline and the chart are in drill time (1 wall second = "
        f"{report.drill_speed:g} drill seconds), as in the drill's scorecard._"
    ]


def _when(report: IncidentReport, at: datetime) -> str:
    """A timeline entry's time: wall clock, or for a drill the drill time since onset."""
    if not report.drill_speed:
        return f"{at:%H:%M:%S}"
    seconds = round(on_clock((at - report.started_at).total_seconds(), report.drill_speed))
    return f"{'-' if seconds < 0 else '+'}{timedelta(seconds=abs(seconds))}"


def _shadow_section(report: IncidentReport) -> list[str]:
    """What Firebreak would have done in shadow mode, and when (from the would-apply records)."""
    if report.outcome is not Outcome.SHADOW:
        return []
    lines = ["## What Firebreak would have done (shadow mode: nothing was written)"]
    for i, m in enumerate(report.would_apply, 1):
        who = f"; approvers: {escape_markdown(', '.join(m.approvers_needed))}" if m.approvers_needed else ""
        lines.append(f"{i}. `{m.kind}` at tier **{m.tier}** (rule `{m.rule}`{who}): {m.detail}")
    return [*(lines if report.would_apply else [*lines, "- nothing: no mitigation was planned"]), ""]


def _audit_line(report: IncidentReport) -> list[str]:
    head = report.chain_head
    if head is None:
        return []
    return [
        f"_Audit trail: {head.length} entries, chain head `{head.hash}` "
        "(check with `firebreak timeline verify`)._",
        "",
    ]


def write_report(report: IncidentReport, timeline: Timeline, directory: Path) -> IncidentReport:
    """Write report.json and postmortem.md next to the timeline; return the report with paths.
    The postmortem embeds ``chart.png`` when the report names a chart."""
    directory.mkdir(parents=True, exist_ok=True)
    postmortem = directory / "postmortem.md"
    report = report.model_copy(update={"postmortem_path": str(postmortem)})
    postmortem.write_text(postmortem_markdown(report, timeline, CHART_FILE if report.chart_path else None))
    (directory / "report.json").write_text(report.model_dump_json(indent=2))
    return report


def publish_artifacts(report: IncidentReport, timeline: Timeline) -> None:
    """The timeline table and the postmortem as artifacts of the flow run (Prefect UI).

    The postmortem artifact shows the chart as a data URL image (Prefect's image artifact takes
    only a URL) and the chain head; the table's description names the head too.
    """
    key = report.incident_id.lower()
    head = timeline.head
    create_table_artifact(
        key=f"{key}-timeline",
        table=timeline.table_rows(),
        description=f"{report.incident_id} timeline (audit log): {head.length} entries, head {head.hash}",
    )
    chart = Path(report.chart_path) if report.chart_path else None
    src = None
    if chart is not None and chart.exists():
        src = "data:image/png;base64," + base64.b64encode(chart.read_bytes()).decode()
    create_markdown_artifact(
        key=f"{key}-postmortem",
        markdown=postmortem_markdown(report, timeline, src),
        description=f"{report.incident_id} postmortem draft",
    )
