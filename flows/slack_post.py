"""The gate's Slack side: post an approval request where the catalog names a channel, and copy
the clicks the receiver recorded on this run into its timeline (the timeline keeps one writer).

A failed post is recorded and the pause goes on: the Prefect form and ``firebreak approve``
still answer it. Clicks are flow run inputs under ``firebreak-slack-`` (alerts/slack_clicks.py);
the keys already copied are read back from the timeline, so a click is copied once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from prefect.client.orchestration import get_client
from pydantic import ValidationError

from alerts.slack_clicks import CLICK_KEY_PREFIX, ClickRecord
from flows.incident_run import IncidentRun
from flows.timeline import Stage, Timeline
from policies import Decision
from tasks.plan import Plan

log = logging.getLogger(__name__)

MAX_CLICKS_READ = 200


def post_approval_request(
    incident: IncidentRun | None,
    *,
    flow_run_id: str | None,
    plan: Plan,
    decision: Decision,
    deadline: datetime,
    evidence: list[str],
) -> None:
    """Post the request to the service's ``slack_channel`` (if any); record channel and ts."""
    if incident is None or flow_run_id is None or incident.entry.slack_channel is None:
        return
    # slack_sdk costs every flow start ~0.2 s (docs/performance.md): imported only when used.
    from flows.slack_message import ApprovalRequest, approval_blocks, approval_text
    from tasks.slack import SlackError, post_message

    rule = decision.approval
    request = ApprovalRequest(
        incident_id=incident.incident_id,
        flow_run_id=str(flow_run_id),
        plan=plan,
        rule=rule.name if rule is not None else decision.rule,
        reason=decision.reason,
        needed=rule.min_approvers if rule is not None else 1,
        deadline=deadline,
        evidence=evidence,
    )
    try:
        message = post_message(incident.entry.slack_channel, approval_text(request), approval_blocks(request))
    except SlackError as e:
        incident.timeline.add(Stage.RESOLVE, "slack-post-failed", f"approval request not posted: {e}")
        return
    incident.timeline.add(
        Stage.RESOLVE,
        "slack-posted",
        f"approval request posted to Slack channel {message.channel}",
        plan_hash=plan.hash,
        channel=message.channel,
        ts=message.ts,
    )


def record_clicks(flow_run_id: str | None, timeline: Timeline) -> None:
    """Copy the Slack clicks recorded on this run since the last call into the timeline."""
    if flow_run_id is None:
        return
    seen = {str(e.data["key"]) for e in timeline.events("slack-click") if e.data.get("key")}
    with get_client(sync_client=True) as client:
        inputs = client.filter_flow_run_input(
            UUID(flow_run_id), key_prefix=CLICK_KEY_PREFIX, limit=MAX_CLICKS_READ, exclude_keys=seen
        )
    clicks: list[tuple[str, ClickRecord]] = []
    for stored in inputs:
        try:
            clicks.append((stored.key, ClickRecord.model_validate_json(stored.value)))
        except ValidationError as e:
            log.warning("flow run %s input %s is not a Slack click, skipped: %s", flow_run_id, stored.key, e)
    for key, click in sorted(clicks, key=lambda kc: kc[1].at):
        who = f"Slack user {click.slack_user} ({click.approver or 'unknown'})"
        timeline.add(
            Stage.RESOLVE,
            "slack-click",
            f"{who}: {click.outcome.value}: {click.reason}",
            actor=click.approver or click.slack_user,
            key=key,
            outcome=click.outcome.value,
            plan_hash=click.plan_hash,
        )
