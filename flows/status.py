"""Internal status updates (SNS), gated like any action and never fatal to the incident.

Sent when the incident is confirmed and when it ends; the message promises the next update
at the cadence the severity requires. A failed publish is recorded in the timeline: telling
people must not stop Firebreak from fixing things.
"""

from __future__ import annotations

from flows.execute import decide_now, request_for
from flows.incident_run import IncidentRun
from flows.timeline import Stage
from policies import Mode, Tier
from tasks.notify import NotifyError, plan_status_update, publish_status, render_status_update


def status_update(run: IncidentRun, stage: Stage, summary: str) -> None:
    """Publish an update to the service's SNS topic if the catalog names one and policy allows."""
    topic = run.entry.sns_topic_arn
    if topic is None:
        return
    cadence = run.policy.severity.requirements[run.severity].update_cadence_minutes
    done = [e.message for e in run.timeline.events("applied")]
    update = render_status_update(
        incident_id=run.incident_id,
        service=run.service,
        environment=run.environment,
        severity=run.severity.value,
        stage=stage.value,
        summary=f"[shadow] {summary}" if run.mode is Mode.SHADOW else summary,
        done=done,
        next_update_minutes=None if stage is Stage.REPORT else cadence,
    )
    plan = plan_status_update(
        update,
        topic_arn=topic,
        service=run.service,
        environment=run.environment,
        aws=run.aws(run.entry.primary_region),
    )
    decision = decide_now(run, request_for(plan))
    if decision.tier is not Tier.AUTOMATED:
        run.timeline.add(
            stage,
            "status-skipped",
            f"status update not sent: {decision.tier.value} ({decision.reason})",
            actor=decision.rule,
        )
        return
    try:
        message_id = publish_status(
            topic_arn=topic, subject=update.subject, message=update.message, aws=plan.aws
        )
    except NotifyError as e:
        run.timeline.add(stage, "status-failed", f"status update to {topic} failed: {e}", error=str(e))
        return
    run.timeline.add(stage, "status-sent", update.subject, message_id=message_id, topic=topic)
