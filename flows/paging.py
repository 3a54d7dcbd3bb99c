"""Paging from the incident flow: trigger when a human is needed, acknowledge when one answers,
resolve when the incident is mitigated. Every page is in the timeline.

A trigger goes to the first escalation level of the incident's severity (the policy's
``paging``); acknowledge and resolve go to every level paged so far, so each PagerDuty
service sees its incident through. Paging is the ``page.pagerduty`` action kind, read-only:
the kill switch and an invalid policy never stop it. Shadow mode sends nothing (and records
that). A page that cannot be sent is recorded, never fatal: the incident goes on.
Later levels are paged by the escalation loop (flows/escalation.py), outside the paused run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flows.incident_run import IncidentRun
from flows.killswitch import kill_switch_on
from flows.timeline import Stage, Timeline
from policies import ActionRequest, DecisionContext, Mode, Policy, Severity, Tier, decide
from policies.paging import PageLevel
from tasks.pagerduty import PAGE_KIND, EventAction, PageEvent, PagerDutyError, PageSeverity, send_page

SENT = "page-sent"


def is_automated(
    policy: Policy, kind: str, *, service: str, environment: str, severity: Severity
) -> tuple[bool, str]:
    """The policy's decision on a read-only kind (paging, internal updates) and why."""
    request = ActionRequest(
        kind=kind, service=service, environment=environment, targets=[service], blast_radius=0.0
    )
    context = DecisionContext(severity=severity, now=datetime.now(UTC), kill_switch=_kill_switch_or_on())
    decision = decide(request, context, policy)
    return decision.tier is Tier.AUTOMATED, f"{decision.tier.value} by {decision.rule}"


def _kill_switch_or_on() -> bool:
    """The kill switch, read as on when it cannot be read (the Prefect API failing): the safe
    reading, under which the policy's read-only kinds (paging among them by default) still go."""
    try:
        return kill_switch_on()
    except Exception:  # noqa: BLE001 - any failure to read is treated as "on"
        return True


def paged_levels(timeline: Timeline) -> dict[str, PageLevel]:
    """Every level with an open (triggered or acknowledged, not resolved) page, by name."""
    return {name: level for name, (level, _) in _open_pages(timeline).items()}


def _open_pages(timeline: Timeline) -> dict[str, tuple[PageLevel, EventAction]]:
    pages: dict[str, tuple[PageLevel, EventAction]] = {}
    for entry in timeline.events(SENT):
        level = PageLevel(name=str(entry.data["level"]), routing_key_env=str(entry.data["routing_key_env"]))
        action = EventAction(entry.data["action"])
        if action is EventAction.RESOLVE:
            pages.pop(level.name, None)
        else:
            pages[level.name] = (level, action)
    return pages


def send_recorded(
    timeline: Timeline,
    event: PageEvent,
    *,
    level: str,
    stage: Stage,
    why: str,
) -> bool:
    """Send one page and record it (``page-sent`` or ``page-failed``); True when sent."""
    try:
        send_page(event)
    except PagerDutyError as e:
        timeline.add(stage, "page-failed", f"{event.action.value} {level}: {e}", level=level, error=str(e))
        return False
    timeline.add(
        stage,
        SENT,
        f"{event.action.value} {level}: {why}",
        action=event.action.value,
        level=level,
        routing_key_env=event.routing_key_env,
    )
    return True


def _event(run: IncidentRun, level: PageLevel, action: EventAction, why: str) -> PageEvent:
    return PageEvent(
        routing_key_env=level.routing_key_env,
        action=action,
        dedup_key=run.incident_id,
        summary=f"[{run.severity.value}] {run.service} ({run.environment}): {why}"[:1024],
        severity=PageSeverity.CRITICAL if run.severity.at_least(Severity.SEV_2) else PageSeverity.ERROR,
        details={"incident_id": run.incident_id, "region": run.region, "alert": run.alert.name},
    )


def _may_page(run: IncidentRun, stage: Stage, why: str) -> bool:
    if run.mode is Mode.SHADOW:
        run.timeline.add(stage, "page-skipped", f"shadow mode: no page sent ({why})")
        return False
    allowed, because = is_automated(
        run.policy, PAGE_KIND, service=run.service, environment=run.environment, severity=run.severity
    )
    if not allowed:
        run.timeline.add(stage, "page-skipped", f"paging not allowed: {because}")
    return allowed


def page_human(run: IncidentRun, stage: Stage, why: str, *, approval: bool = False) -> None:
    """Trigger the first level: a human is needed (an approval only pages at SEV-1/SEV-2).
    Nothing is sent when that level already has an open page for this incident."""
    if approval and not run.severity.at_least(Severity.SEV_2):
        return
    first = run.policy.paging.levels_for(run.severity)[0]
    if first.name in paged_levels(run.timeline) or not _may_page(run, stage, why):
        return
    event = _event(run, first, EventAction.TRIGGER, why)
    send_recorded(run.timeline, event, level=first.name, stage=stage, why=why)


def page_unattended(run: IncidentRun, why: str) -> None:
    """The run ends without a verified mitigation or a person's confirmation: make sure a person
    knows. Pages the first level unless it already has an open page; never raises (the final
    report must still be written), a page that could not be attempted is in the timeline."""
    try:
        page_human(run, Stage.REPORT, f"Firebreak stopped without a fix: {why}")
    except Exception as e:  # noqa: BLE001 - the last word of a failing run must not fail it again
        why_not = f"could not page: {type(e).__name__}: {e}"
        run.timeline.add(Stage.REPORT, "page-failed", why_not, error=repr(e))


def _to_paged(run: IncidentRun, action: EventAction, stage: Stage, why: str) -> None:
    """Send ``action`` to each open page it moves on (an acknowledged page is not acknowledged again)."""
    levels = [
        level
        for level, last in _open_pages(run.timeline).values()
        if action is EventAction.RESOLVE or last is EventAction.TRIGGER
    ]
    if not levels or not _may_page(run, stage, why):
        return
    for level in levels:
        send_recorded(run.timeline, _event(run, level, action, why), level=level.name, stage=stage, why=why)


def acknowledge(run: IncidentRun, stage: Stage, who: list[str]) -> None:
    """A human answered: acknowledge every open page (nothing when nobody was paged)."""
    _to_paged(run, EventAction.ACKNOWLEDGE, stage, f"answered by {', '.join(who) or 'a human'}")


def resolve_pages(run: IncidentRun, why: str) -> None:
    """The incident is mitigated: resolve every open page (nothing when nobody was paged)."""
    _to_paged(run, EventAction.RESOLVE, Stage.REPORT, why)
