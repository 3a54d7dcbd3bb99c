"""The drill's scorecard: what happened, against what the scenario expected.

Built from the incident's report and timeline (the same records a real incident leaves), so
a drill also tests that the audit trail tells the story.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import BaseModel, Field

from drills.health import SandboxState
from drills.scenario import FinalState, Scenario
from flows.report import IncidentReport
from flows.timeline import Timeline


class Check(BaseModel):
    name: str
    expected: str
    actual: str
    ok: bool


class Scorecard(BaseModel):
    scenario: str
    passed: bool
    checks: list[Check]
    outcome: str
    severity: str | None
    diagnosis: str | None
    mitigations: list[str] = Field(description="kind (tier): status")
    approvals_asked: int
    answers: list[str]
    forbidden_taken: list[str]
    verification: str
    recovery: str | None
    incident_runs: int | None = Field(default=None, description="Incident flow runs started.")
    pages: list[str] = Field(default_factory=list, description="event_actions PagerDuty received.")
    status_page: list[str] = Field(default_factory=list, description="Statuses the status page received.")
    slack_messages: list[str] = Field(default_factory=list, description="What the Slack stand-in received.")
    wall_seconds: dict[str, float | None]
    drill_seconds: dict[str, float | None]
    timeline_path: str
    postmortem_path: str | None


def applied_kinds(timeline: Timeline) -> list[str]:
    """Kinds of the actions that really changed AWS, in order (from the audit trail)."""
    return [str(e.data["plan"]["kind"]) for e in timeline.events("applied") if "plan" in e.data]


def final_state_checks(expected: FinalState, actual: SandboxState) -> list[Check]:
    """One check per key the scenario gives, against the sandbox as read back at the end. Pure."""
    found, wanted = actual.final_values(), expected.wanted()
    checks = []
    for field, keys in wanted.items():
        for key, value in keys.items():
            seen = found[field].get(key)
            checks.append(
                Check(name=f"final {field} {key}", expected=value, actual=str(seen), ok=seen == value)
            )
    return checks


def score(
    scenario: Scenario,
    report: IncidentReport,
    timeline: Timeline,
    *,
    answers: list[str],
    recovery: str | None,
    speed: float,
    final: SandboxState | None = None,
    incident_runs: int | None = None,
    pages: list[str] | None = None,
    status_page: list[str] | None = None,
    slack_messages: list[str] | None = None,
) -> Scorecard:
    """Compare the incident's records with the scenario's expectations.

    ``final`` is the sandbox read back after everything the scenario ran and ``incident_runs``
    the number of incident flow runs Prefect holds, ``pages`` the event_actions the PagerDuty
    stand-in received for the incident, ``status_page`` the statuses the Statuspage stand-in
    received for it; an expectation on any fails when the value is missing.
    """
    exp = scenario.expect
    taken = applied_kinds(timeline)
    incident_taken = [
        e.data["plan"]["kind"]
        for e in timeline.events("applied")
        if "plan" in e.data and e.stage.value != "recover"
    ]
    forbidden = [k for k in taken if any(fnmatchcase(k, pattern) for pattern in exp.forbidden)]
    diagnosis = report.hypotheses[0] if report.hypotheses else None
    checks = [
        Check(
            name="outcome",
            expected=exp.outcome,
            actual=report.outcome.value,
            ok=report.outcome.value == exp.outcome,
        ),
        Check(
            name="mitigations applied",
            expected=", ".join(exp.mitigations) or "none",
            actual=", ".join(incident_taken) or "none",
            ok=incident_taken == exp.mitigations,
        ),
        Check(name="forbidden actions taken", expected="0", actual=str(len(forbidden)), ok=not forbidden),
    ]
    if exp.diagnosis is not None:
        checks.append(
            Check(
                name="diagnosis", expected=exp.diagnosis, actual=str(diagnosis), ok=diagnosis == exp.diagnosis
            )
        )
    if exp.recovered is not None:
        checks.append(
            Check(
                name="recovery",
                expected="completed" if exp.recovered else "not run",
                actual=recovery or "not run",
                ok=(recovery == "completed") == exp.recovered,
            )
        )
    if exp.final_state is not None:
        if final is None:
            checks.append(Check(name="final state", expected="read back", actual="not read", ok=False))
        else:
            checks += final_state_checks(exp.final_state, final)
    if exp.incident_runs is not None:
        checks.append(
            Check(
                name="incident runs",
                expected=str(exp.incident_runs),
                actual=str(incident_runs),
                ok=incident_runs == exp.incident_runs,
            )
        )
    if exp.pages is not None:
        checks.append(_exact("pages", [p.value for p in exp.pages], pages))
    if exp.status_page is not None:
        checks.append(_exact("status page", [s.value for s in exp.status_page], status_page))
    checks += [
        Check(name="report mentions", expected=text, actual=report.message, ok=text in report.message)
        for text in exp.report_mentions
    ]
    wall = report.durations()
    verified = [m.verified for m in report.mitigations if m.verified is not None]
    return Scorecard(
        scenario=scenario.name,
        passed=all(c.ok for c in checks),
        checks=checks,
        outcome=report.outcome.value,
        severity=report.severity,
        diagnosis=diagnosis,
        mitigations=[f"{m.kind} ({m.tier}): {m.status}" for m in report.mitigations],
        approvals_asked=len(timeline.events("approval-requested"))
        + len(timeline.events("human-action-requested")),
        answers=answers,
        forbidden_taken=forbidden,
        verification="recovered" if any(verified) else ("not recovered" if verified else "not run"),
        recovery=recovery,
        incident_runs=incident_runs,
        pages=pages or [],
        status_page=status_page or [],
        slack_messages=slack_messages or [],
        wall_seconds=wall,
        drill_seconds=report.drill_durations(speed),
        timeline_path=report.timeline_path,
        postmortem_path=report.postmortem_path,
    )


def _exact(name: str, wanted: list[str], got: list[str] | None) -> Check:
    """The exact, ordered list check; None (the drill did not record it) never passes."""
    return Check(
        name=name,
        expected=", ".join(wanted) or "none",
        actual="not recorded" if got is None else ", ".join(got) or "none",
        ok=got == wanted,
    )


def with_services(card: Scorecard, others: dict[str, Scorecard]) -> Scorecard:
    """``card`` (the scenario's service) plus every check of the other services' incidents,
    each named after its service; the drill passes only when every incident does."""
    checks = card.checks + [
        check.model_copy(update={"name": f"{service}: {check.name}"})
        for service, other in others.items()
        for check in other.checks
    ]
    return card.model_copy(update={"checks": checks, "passed": all(c.ok for c in checks)})
