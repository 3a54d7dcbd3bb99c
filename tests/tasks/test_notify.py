"""Status updates: the pure renderer, and publish_status read back through an SQS subscriber."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.notify import (
    MAX_SUBJECT_CHARS,
    NOTIFY_KIND,
    NotifyError,
    plan_status_update,
    publish_status,
    render_status_update,
    safe_subject,
)

REGION = "eu-west-1"
AWS = AwsTarget(region=REGION)


def render(**overrides: object) -> tuple[str, str]:
    facts: dict[str, object] = {
        "incident_id": "INC-42",
        "service": "checkout",
        "environment": "prod",
        "severity": "SEV-2",
        "stage": "mitigating",
        "summary": "5xx in eu-west-1",
        "done": ["shifted 50% of traffic to us-east-1", "disabled flag new-pricing"],
        "next_update_minutes": 15,
    } | overrides
    update = render_status_update(**facts)  # type: ignore[arg-type]
    return update.subject, update.message


def test_a_long_incident_id_never_hides_what_happened() -> None:
    """A 128-bit incident id in front cut the subject's summary at SNS's 100 characters."""
    incident = "INC-20261207-1210-bb736797ecc04d5fa63987cbbfc63470"
    subject, message = render(
        incident_id=incident, stage="waiting for a human", summary="still waiting after 10 min"
    )
    assert "still waiting after 10 min" in subject and len(subject) <= 100
    assert incident in message.splitlines()[0]


def test_render_status_update_names_the_facts() -> None:
    subject, message = render()
    assert subject == "[SEV-2] checkout/prod: mitigating - 5xx in eu-west-1 (INC-42)"
    assert message.splitlines() == [
        "Incident INC-42 (SEV-2) - checkout in prod",
        "Stage: mitigating",
        "Summary: 5xx in eu-west-1",
        "",
        "Done so far:",
        "- shifted 50% of traffic to us-east-1",
        "- disabled flag new-pricing",
        "",
        "Next update in 15 minutes.",
    ]


def test_render_without_actions_or_next_update() -> None:
    _, message = render(done=[], next_update_minutes=None)
    assert "- nothing yet" in message and message.endswith("No further scheduled updates.")


def test_long_subjects_are_cut_safely() -> None:
    subject, _ = render(summary="very long summary\nwith a newline " + "x" * 200)
    assert len(subject) == MAX_SUBJECT_CHARS and subject.endswith("...") and "\n" not in subject
    assert safe_subject("a\tb\x00c  d") == "a b c d"
    assert safe_subject("x" * MAX_SUBJECT_CHARS) == "x" * MAX_SUBJECT_CHARS


def test_plan_is_an_irreversible_internal_notification() -> None:
    update = render_status_update(
        incident_id="INC-1", service="checkout", environment="prod", severity="SEV-3", stage="detect",
        summary="s", done=[], next_update_minutes=30,
    )  # fmt: skip
    plan = plan_status_update(
        update, topic_arn="arn:aws:sns:eu-west-1:1:t", service="checkout", environment="prod", aws=AWS
    )
    assert (plan.kind, plan.targets, plan.blast_radius, plan.reversible) == (
        NOTIFY_KIND,
        ["arn:aws:sns:eu-west-1:1:t"],
        0.0,
        False,
    )
    assert plan.after["subject"] == update.subject


@pytest.fixture
def subscribed_queue() -> Iterator[tuple[str, str]]:
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        sns = client("sns", AwsTarget(region=REGION))
        sqs = client("sqs", AwsTarget(region=REGION))
        topic = sns.create_topic(Name="incidents")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="status")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        yield topic, queue_url
    clear_client_cache()


def test_publish_status_reaches_a_subscriber(subscribed_queue: tuple[str, str]) -> None:
    topic, queue_url = subscribed_queue
    subject, message = render(summary="x" * 150)
    message_id = publish_status.fn(
        topic_arn=topic, subject=subject + "\nsecond line", message=message, aws=AWS
    )
    received = client("sqs", AwsTarget(region=REGION)).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10
    )
    [envelope] = [json.loads(m["Body"]) for m in received["Messages"]]
    assert envelope["MessageId"] == message_id
    assert envelope["Message"] == message
    assert envelope["Subject"] == subject and len(envelope["Subject"]) <= MAX_SUBJECT_CHARS


def test_oversized_message_is_refused_before_publishing(subscribed_queue: tuple[str, str]) -> None:
    topic, queue_url = subscribed_queue
    with pytest.raises(NotifyError, match="bytes"):
        publish_status.fn(topic_arn=topic, subject="s", message="x" * (256 * 1024 + 1), aws=AWS)
    received = client("sqs", AwsTarget(region=REGION)).receive_message(QueueUrl=queue_url)
    assert received.get("Messages", []) == []
