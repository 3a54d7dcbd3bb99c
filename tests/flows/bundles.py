"""Evidence bundles built by hand for the pure diagnosis tests: eu-west-1 unhealthy, us-east-1 fine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flows.own_changes import OwnChange
from tasks.catalog import MetricSpec, RegionResources, ServiceEnvironment
from tasks.evidence import ChangeEvent, Datapoint, EvidenceBundle, RegionEvidence, WriteEvent

ONSET = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
BAD, GOOD = "eu-west-1", "us-east-1"
ERRORS = MetricSpec(name="error_rate", namespace="C", metric_name="5xx", healthy_threshold=5.0)
ENTRY = ServiceEnvironment(primary_region=BAD, regions={BAD: RegionResources(), GOOD: RegionResources()})
ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout"


def region(name: str, error_rate: float) -> RegionEvidence:
    points = [Datapoint(at=ONSET - timedelta(minutes=1), value=error_rate)]
    return RegionEvidence(region=name, metric_specs=[ERRORS], metrics={"error_rate": points})


def bundle(*changes: ChangeEvent) -> EvidenceBundle:
    return EvidenceBundle(
        service="checkout",
        environment="prod",
        onset=ONSET,
        window_start=ONSET - timedelta(minutes=30),
        collected_at=ONSET + timedelta(minutes=1),
        regions={BAD: region(BAD, 25.0), GOOD: region(GOOD, 0.5)},
        changes=list(changes),
    )


def write(
    request_id: str, *, user_agent: str = "Boto3/1.44 ci-deployer", caller: str = "user/deployer"
) -> WriteEvent:
    return WriteEvent(
        event_name="UpdateService",
        at=ONSET - timedelta(minutes=4),
        resource="checkout-prod/checkout",
        value=f"{ARN}:4",
        request_id=request_id,
        caller=f"arn:aws:iam::123456789012:{caller}",
        user_agent=user_agent,
    )


def deploy(after: int = 4, **fields: Any) -> ChangeEvent:
    """The ECS deploy of revision ``after`` in the bad region, 4 minutes before onset."""
    return ChangeEvent.model_validate(
        {
            "kind": "ecs.deploy",
            "region": BAD,
            "resource": "checkout-prod/checkout",
            "at": ONSET - timedelta(minutes=4),
            "summary": f"PRIMARY deployment of checkout:{after}",
            "after": f"{ARN}:{after}",
            **fields,
        }
    )


def applied(
    after: int, *, minutes_before_onset: float, request_id: str = "req-firebreak", before: int = 4
) -> OwnChange:
    """Firebreak's rollback of the bad region from ``before`` to ``after``."""
    return OwnChange(
        incident_id="INC-20261124-0240-abcdef",
        at=ONSET - timedelta(minutes=minutes_before_onset),
        kind="rollback.ecs",
        service="checkout",
        environment="prod",
        plan_hash="0123456789abcdef",
        request_ids=[request_id],
        before={BAD: f"{ARN}:{before}"},
        after={BAD: f"{ARN}:{after}"},
    )
