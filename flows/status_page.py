"""Customer-facing status page updates: drafted by the incident run, each posted by a run of its own.

Posting is external communication, the action kind ``comms.statuspage``: the policy decides
its tier like any action's (the default asks two approvers, rule ``communications``), the
approver sees the draft as the plan's ``after``, and it is sent only when approved and the
policy still allows it afterwards.

The incident run drafts (``statuspage-draft``, always in its timeline), refuses at once what
the policy would not send anyway (shadow mode, denied, human-only: ``statuspage-not-sent``),
and otherwise starts a ``status-page-update`` run (flows/status_runs.py) and goes on: that
run asks for the approval in its own pause, posts, and records its outcome, which the
incident run copies into its timeline. The post run pages nobody: its gate is given no
incident, so no page and no escalation timer comes from a comms lead's silence.

Nothing happens unless the catalog names the service's status page components and
``FIREBREAK_STATUSPAGE_PAGE_ID`` is set. The first update sent creates the page's incident;
every later one, in this run or a re-run, updates it. A status already posted, or still
waiting in its run, is not drafted again. A post that fails is recorded, never fatal.
"""

from __future__ import annotations

from typing import Any

from prefect import State, flow
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from alerts.models import Alert
from flows.detect import facts_for
from flows.execute import decide_now, request_for
from flows.gate import GateStatus, request_approval
from flows.incident_run import IncidentRun, incident_id_for
from flows.settings import RunSettings
from flows.status_draft import draft_update
from flows.status_runs import (
    EVENTS,
    NOT_SENT,
    POST_FLOW,
    POSTED,
    STARTED,
    PostOutcome,
    PostResult,
    StatusPageRunError,
    in_flight,
    record_post_outcomes,
    save_outcome,
    start_post,
    started_status,
    wait_for_outcome,
)
from flows.timeline import Stage, Timeline
from policies import Decision, Mode, Severity, Tier
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
    """Draft the ``status`` update and start the run that posts it once approved; never waits.

    ``unhealthy_regions`` gives the impact (the share of the service's regions failing)."""
    page = run.entry.status_page
    settings = StatusPageSettings()
    if page is None or settings.page_id is None:
        return
    record_post_outcomes(run.timeline, stage)
    waiting = [started_status(run.timeline, r) for r in in_flight(run.timeline)]
    if status in posted_statuses(run.timeline) or status in waiting:
        return
    impact = facts_for(run, unhealthy_regions).users_affected
    draft = draft_update(page, severity=run.severity, impact=impact, status=status)
    run.timeline.add(
        stage,
        DRAFTED,
        f"status page draft ({status.value}): {draft.body}",
        draft=draft.model_dump(mode="json"),
    )
    decision = decide_now(run, request_for(_plan(run, draft, before=_last_update(run.timeline))))
    refused = _refusal(run.mode, decision)
    if refused is not None:
        run.timeline.add(stage, NOT_SENT, f"status page {status.value} not sent: {refused}")
        return
    earlier = in_flight(run.timeline)
    parameters = {
        "alert": run.alert.model_dump(mode="json"),
        "settings": run.settings.model_dump(mode="json"),
        "severity": run.severity.value,
        "update": draft.model_dump(mode="json"),
        "before": _last_update(run.timeline),
        "existing": page_incident(run.timeline),
        "after": earlier[-1] if earlier else None,
    }
    try:
        post_run = start_post(parameters, name=f"{run.incident_id}-{status.value}")
    except StatusPageRunError as e:
        run.timeline.add(
            stage, NOT_SENT, f"status page {status.value} not sent: {e}; the draft above is kept"
        )
        return
    run.timeline.add(
        stage,
        STARTED,
        f"status page {status.value}: handed to flow run {post_run}, which asks and posts",
        status=status.value,
        post_run=str(post_run),
    )


@flow(name=POST_FLOW, log_prints=True)
def status_page_post(
    alert: Alert,
    settings: RunSettings,
    severity: Severity,
    update: StatusUpdate,
    before: dict[str, Any],
    existing: str | None = None,
    after: str | None = None,
) -> State:
    """Ask for the approval of ``update`` and post it; record the outcome on this run.

    ``after`` is the earlier post run of the incident still in flight when this one started:
    this run waits until it is final, so the page receives the statuses in order and this one
    updates the page incident the earlier one created. The approvals are written to this run's
    own timeline, ``statuspage-<status>.json`` beside the incident's."""
    incident_id = incident_id_for(alert)
    if after is not None:
        earlier = wait_for_outcome(after, poll_seconds=settings.approval_poll_seconds)
        if earlier is not None and earlier.result is PostResult.POSTED:
            existing, before = earlier.page_incident, earlier.update
    path = settings.incident_dir(incident_id) / f"statuspage-{update.status.value}.json"
    run = _post_run(alert, settings, severity, Timeline.open(incident_id, path))
    plan = _plan(run, update, before=before, existing=existing)
    allowed, why = _allowed(run, plan)
    status = update.status
    outcome = (
        _send(update, incident_id, existing, why)
        if allowed
        else PostOutcome(
            status=status, result=PostResult.NOT_SENT, message=f"status page {status.value} not sent: {why}"
        )
    )
    outcome = outcome.model_copy(update={"update": update.model_dump(mode="json")})
    run.timeline.add(
        Stage.REPORT, EVENTS[outcome.result], outcome.message, outcome=outcome.model_dump(mode="json")
    )
    run_id = flow_run.get_id()
    if run_id is not None:
        save_outcome(run_id, outcome)
    done = Completed if outcome.result is not PostResult.FAILED else Failed
    return done(message=outcome.message)


def _post_run(alert: Alert, settings: RunSettings, severity: Severity, timeline: Timeline) -> IncidentRun:
    return IncidentRun.begin(alert, settings, timeline, stage=Stage.DETECT, severity=severity)


def _send(draft: StatusUpdate, incident_id: str, existing: str | None, why: str) -> PostOutcome:
    """Post ``draft`` (creating the page's incident the first time)."""
    try:
        posted = post_update(draft, incident_id=incident_id, existing=existing, settings=StatusPageSettings())
    except StatusPageError as e:
        message = f"status page {draft.status.value} failed: {e}"
        return PostOutcome(
            status=draft.status, result=PostResult.FAILED, message=message, page_incident=existing
        )
    verb = "created" if posted.created else "updated"
    return PostOutcome(
        status=posted.status,
        result=PostResult.POSTED,
        message=f"status page {verb} ({posted.status.value}): {why}",
        page_incident=posted.incident,
        created=posted.created,
    )


def _last_update(timeline: Timeline) -> dict[str, Any]:
    last = timeline.events(POSTED)
    return dict(last[-1].data["update"]) if last else {}


def _plan(
    run: IncidentRun, draft: StatusUpdate, *, before: dict[str, Any], existing: str | None = None
) -> Plan:
    """The post as a plan: before is what this incident last posted, after the draft."""
    page_id = StatusPageSettings().page_id
    page = run.entry.status_page
    components = page.components if page is not None else list(draft.components)
    return Plan(
        kind=STATUSPAGE_KIND,
        service=run.service,
        environment=run.environment,
        aws=run.aws(),
        targets=[f"statuspage:{page_id}/{component}" for component in components],
        before=before,
        after=draft.model_dump(mode="json"),
        blast_radius=0.0,
        reversible=False,
        summary=f"post '{draft.status.value}' to the public status page: {draft.body}",
        params={"page_id": page_id, "page_incident": existing},
    )


def _refusal(mode: Mode, decision: Decision) -> str | None:
    """Why the post will not be sent whatever anyone answers, or None when it may be. Pure."""
    if mode is Mode.SHADOW:
        return f"shadow mode: would be {decision.tier.value} by {decision.rule}"
    if decision.tier not in (Tier.AUTOMATED, Tier.APPROVAL):
        return f"{decision.tier.value} by {decision.rule} ({decision.reason})"
    return None


def _allowed(run: IncidentRun, plan: Plan) -> tuple[bool, str]:
    """Whether the policy lets this post go out now, and why (or why not).

    The gate gets no ``incident``: a comms approval pages nobody and sets no escalation timer.
    The plan counts as verified: its before is the incident's own record and the post does not
    depend on live state that could have drifted."""
    decision = decide_now(run, request_for(plan))
    refused = _refusal(run.mode, decision)
    if refused is not None:
        return False, refused
    if decision.tier is Tier.AUTOMATED:
        return True, f"automated by {decision.rule}"
    outcome = request_approval(
        plan,
        decision,
        policy=run.policy,
        timeline=run.timeline,
        requester=run.requester,
        evidence=[f"severity {run.severity.value}", f"customers will read: {plan.after['body']}"],
        poll_seconds=run.settings.approval_poll_seconds,
    )
    if outcome.status is not GateStatus.APPROVED:
        return False, f"{outcome.status.value} ({outcome.reason or 'no reason given'})"
    last_look = decide_now(run, request_for(plan))  # the kill switch may have flipped meanwhile
    if last_look.tier is Tier.DENIED:
        return False, f"denied after approval ({last_look.reason})"
    return True, f"approved by {', '.join(outcome.people)}"
