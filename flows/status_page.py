"""Customer-facing status page updates from the incident flow: drafted, gated, posted.

Posting is external communication, the action kind ``comms.statuspage``: the policy decides
its tier like any action's (the default asks two approvers, rule ``communications``), the
approver sees the draft as the plan's ``after``, and it is sent only when approved and the
policy still allows it afterwards. Rejected, timed out, denied or shadow mode: nothing is
sent and the timeline says why. The draft is in the timeline either way.

Nothing happens unless the catalog names the service's status page components and
``FIREBREAK_STATUSPAGE_PAGE_ID`` is set. The first update sent creates the page's incident;
its id is recorded in the timeline (``statuspage-posted``) and every later update of this
incident, in this run or a re-run, updates that one. A status already posted is not drafted
again. A post that fails is recorded, never fatal: the incident goes on.
"""

from __future__ import annotations

from flows.detect import facts_for
from flows.execute import decide_now, request_for
from flows.gate import GateStatus, request_approval
from flows.incident_run import IncidentRun
from flows.status_draft import draft_update
from flows.timeline import Stage, Timeline
from policies import Mode, Tier
from tasks.catalog import StatusPageComponents
from tasks.plan import Plan
from tasks.statuspage import (
    STATUSPAGE_KIND,
    IncidentStatus,
    StatusPageError,
    StatusPageSettings,
    StatusUpdate,
    post_update,
)

DRAFTED = "statuspage-draft"
POSTED = "statuspage-posted"
NOT_SENT = "statuspage-not-sent"
FAILED = "statuspage-failed"


def page_incident(timeline: Timeline) -> str | None:
    """The Statuspage incident this incident created, if any (its first ``statuspage-posted``)."""
    first = timeline.first(POSTED)
    return None if first is None else str(first.data["page_incident"])


def posted_statuses(timeline: Timeline) -> list[IncidentStatus]:
    """The statuses the page accepted for this incident, in order."""
    return [IncidentStatus(e.data["status"]) for e in timeline.events(POSTED)]


def status_page_update(
    run: IncidentRun, stage: Stage, status: IncidentStatus, *, unhealthy_regions: int
) -> None:
    """Draft the ``status`` update and post it once the policy's gate lets it through.

    ``unhealthy_regions`` gives the impact (the share of the service's regions failing)."""
    page = run.entry.status_page
    settings = StatusPageSettings()
    if page is None or settings.page_id is None or status in posted_statuses(run.timeline):
        return
    impact = facts_for(run, unhealthy_regions).users_affected
    draft = draft_update(page, severity=run.severity, impact=impact, status=status)
    run.timeline.add(
        stage,
        DRAFTED,
        f"status page draft ({status.value}): {draft.body}",
        draft=draft.model_dump(mode="json"),
    )
    plan = _plan(run, draft, page, settings.page_id)
    allowed, why = _allowed(run, plan)
    if not allowed:
        run.timeline.add(stage, NOT_SENT, f"status page {status.value} not sent: {why}", plan_hash=plan.hash)
        return
    send_update(run.timeline, draft, stage=stage, settings=settings, why=why)


def send_update(
    timeline: Timeline, draft: StatusUpdate, *, stage: Stage, settings: StatusPageSettings, why: str
) -> bool:
    """Post ``draft`` (creating the page's incident the first time) and record it; True when sent."""
    existing = page_incident(timeline)
    try:
        posted = post_update(draft, incident_id=timeline.incident_id, existing=existing, settings=settings)
    except StatusPageError as e:
        timeline.add(stage, FAILED, f"status page {draft.status.value} failed: {e}", error=str(e))
        return False
    verb = "created" if posted.created else "updated"
    timeline.add(
        stage,
        POSTED,
        f"status page {verb} ({posted.status.value}): {why}",
        status=posted.status.value,
        page_incident=posted.incident,
        created=posted.created,
        update=draft.model_dump(mode="json"),
    )
    return True


def _plan(run: IncidentRun, draft: StatusUpdate, page: StatusPageComponents, page_id: str) -> Plan:
    """The post as a plan: before is what this incident last posted (from its own timeline),
    after the draft."""
    last = run.timeline.events(POSTED)
    return Plan(
        kind=STATUSPAGE_KIND,
        service=run.service,
        environment=run.environment,
        aws=run.aws(),
        targets=[f"statuspage:{page_id}/{component}" for component in page.components],
        before=dict(last[-1].data["update"]) if last else {},
        after=draft.model_dump(mode="json"),
        blast_radius=0.0,
        reversible=False,
        summary=f"post '{draft.status.value}' to the public status page: {draft.body}",
        params={"page_id": page_id, "page_incident": page_incident(run.timeline)},
    )


def _allowed(run: IncidentRun, plan: Plan) -> tuple[bool, str]:
    """Whether the policy lets this post go out now, and why (or why not).

    The plan counts as verified: its before is the incident's own record and the post does not
    depend on live state that could have drifted."""
    decision = decide_now(run, request_for(plan))
    if run.mode is Mode.SHADOW:
        return False, f"shadow mode: would be {decision.tier.value} by {decision.rule}"
    if decision.tier is Tier.AUTOMATED:
        return True, f"automated by {decision.rule}"
    if decision.tier is not Tier.APPROVAL:
        return False, f"{decision.tier.value} by {decision.rule} ({decision.reason})"
    outcome = request_approval(
        plan,
        decision,
        policy=run.policy,
        timeline=run.timeline,
        requester=run.requester,
        evidence=[f"severity {run.severity.value}", f"customers will read: {plan.after['body']}"],
        poll_seconds=run.settings.approval_poll_seconds,
        incident=run,
    )
    if outcome.status is not GateStatus.APPROVED:
        return False, f"{outcome.status.value} ({outcome.reason or 'no reason given'})"
    last_look = decide_now(run, request_for(plan))  # the kill switch may have flipped meanwhile
    if last_look.tier is Tier.DENIED:
        return False, f"denied after approval ({last_look.reason})"
    return True, f"approved by {', '.join(outcome.people)}"
