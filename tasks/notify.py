"""Internal status updates over SNS (action kind ``notify.internal``).

Updates are rendered from incident facts by a pure function, so every update has the same
shape (what happened, what was done, when the next update comes) and tests can compare them
exactly. Publishing is a thin task. An internal update is automated by the default policy;
external communication is a different action kind and is never sent from here.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field

from tasks.aws import AwsTarget, call, client
from tasks.plan import Plan

logger = logging.getLogger(__name__)

NOTIFY_KIND = "notify.internal"
MAX_SUBJECT_CHARS = 99  # SNS: "less than 100 characters", no line breaks or control characters
MAX_MESSAGE_BYTES = 256 * 1024


class NotifyError(ValueError):
    """The message cannot be published as given (e.g. larger than SNS accepts)."""


class StatusUpdate(BaseModel):
    """A rendered update, ready to publish."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(max_length=MAX_SUBJECT_CHARS)
    message: str


def safe_subject(subject: str) -> str:
    """``subject`` on one line, without control characters, cut to fit SNS with an ellipsis."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in subject).split())
    if len(flat) <= MAX_SUBJECT_CHARS:
        return flat
    return flat[: MAX_SUBJECT_CHARS - 3].rstrip() + "..."


def render_status_update(
    *,
    incident_id: str,
    service: str,
    environment: str,
    severity: str,
    stage: str,
    summary: str,
    done: list[str],
    next_update_minutes: int | None,
) -> StatusUpdate:
    """The internal update for one incident stage.

    >>> render_status_update(incident_id="INC-42", service="checkout", environment="prod",
    ...     severity="SEV-2", stage="mitigating", summary="5xx in eu-west-1",
    ...     done=["shifted 50% of traffic to us-east-1"], next_update_minutes=15).subject
    '[SEV-2] checkout/prod: mitigating - 5xx in eu-west-1 (INC-42)'
    """
    actions = [f"- {item}" for item in done] or ["- nothing yet"]
    next_line = (
        f"Next update in {next_update_minutes} minutes."
        if next_update_minutes is not None
        else "No further scheduled updates."
    )
    message = "\n".join(
        [
            f"Incident {incident_id} ({severity}) - {service} in {environment}",
            f"Stage: {stage}",
            f"Summary: {summary}",
            "",
            "Done so far:",
            *actions,
            "",
            next_line,
        ]
    )
    # What happened leads and the (long) incident id comes last: SNS subjects are cut at 100
    # characters, and a cut id is still in the message's first line.
    subject = safe_subject(f"[{severity}] {service}/{environment}: {stage} - {summary} ({incident_id})")
    return StatusUpdate(subject=subject, message=message)


def plan_status_update(
    update: StatusUpdate, *, topic_arn: str, service: str, environment: str, aws: AwsTarget
) -> Plan:
    """The plan a policy gates: publishing touches one topic and no traffic, and cannot be undone."""
    return Plan(
        kind=NOTIFY_KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[topic_arn],
        before={},
        after={"subject": update.subject, "message": update.message},
        blast_radius=0.0,
        reversible=False,
        summary=f"Send internal update {update.subject!r} to {topic_arn}",
    )


@task(name="publish-status", cache_policy=NO_CACHE)
def publish_status(*, topic_arn: str, subject: str, message: str, aws: AwsTarget) -> str:
    """Publish an update to ``topic_arn`` and return the SNS message id.

    The subject is made safe (see :func:`safe_subject`); a message over 256 KiB is refused.
    Throttling is retried by ``tasks.aws.call``; a 5xx or a lost answer is not (the message may
    have gone out, and a second one would be a duplicate). Any AWS failure is a NotifyError.
    """
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise NotifyError(f"message is {len(message.encode())} bytes; SNS accepts {MAX_MESSAGE_BYTES}")
    logger.info("publishing status update %r to %s", subject, topic_arn)
    clean = safe_subject(subject)
    extra = {"Subject": clean} if clean else {}  # SNS rejects an empty subject; omit it instead
    try:
        response = call(client("sns", aws), "publish", TopicArn=topic_arn, Message=message, **extra)
    except (ClientError, BotoCoreError) as e:
        raise NotifyError(f"publish to {topic_arn} failed: {e}") from e
    return str(response["MessageId"])
