"""Faults on every mutating action the incident flow takes, during a whole incident.

Each production fault below leads the flow to one action kind; its mutating AWS call then meets
(a) transient errors and a lost answer, or (b) a permanent refusal. Everything is read back
from moto: exactly one write reached AWS, nothing was half-applied, the timeline records every
failure, and a flow that cannot proceed hands the incident to a human.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from drills import seed_names as n
from drills.faults import inject_bad_deploy, inject_bad_flag, inject_bad_lambda
from flows.incident import incident_response
from flows.report import Outcome
from tasks.aws import AwsTarget, call, client
from tests.faults import (
    ACCESS_DENIED,
    CONNECT_TIMEOUT,
    THROTTLE,
    UNAVAILABLE,
    inject_faults,
    lose_answers,
)
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve

REGION = n.PRIMARY_REGION


def _alias_version(world: World) -> str:
    alias = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(REGION).lambda_alias
    assert alias is not None
    lam = client("lambda", world.sandbox.target(REGION))
    return str(call(lam, "get_alias", FunctionName=alias.function, Name=alias.alias)["FunctionVersion"])


@dataclass(frozen=True)
class Mutation:
    """A production fault, the action the flow answers it with, and how to read that action back."""

    kind: str
    inject: Callable[[World], Any]
    service: str  # boto3 service of the mutating call
    operation: str  # "<service>.<Operation>" of the mutating call
    observe: Callable[[World], Any]
    approvals: int  # approval-tier actions wait for one approver

    def flow_client(self, world: World) -> Any:
        """The very client the flow will use (tasks.aws caches one per service and target)."""
        store = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
        region = store.region if self.service == "ssm" and store is not None else REGION
        return client(self.service, AwsTarget(region=region))


MUTATIONS = {
    m.kind: m
    for m in [
        Mutation(
            "flags.disable.ssm",
            lambda w: inject_bad_flag(w.sandbox.target(), w.catalog),
            "ssm",
            "ssm.PutParameter",
            lambda w: w.flag(),
            approvals=0,
        ),
        Mutation(
            "rollback.ecs",
            lambda w: inject_bad_deploy(w.sandbox.target(), w.catalog, REGION),
            "ecs",
            "ecs.UpdateService",
            lambda w: w.task_definition(),
            approvals=1,
        ),
        Mutation(
            "rollback.lambda",
            lambda w: inject_bad_lambda(w.sandbox.target(), w.catalog, REGION),
            "lambda",
            "lambda.UpdateAlias",
            _alias_version,
            approvals=1,
        ),
        Mutation(
            "traffic.shift.route53",
            lambda w: w.simulator.degrade_region(REGION),
            "route53",
            "route53.ChangeResourceRecordSets",
            lambda w: w.weights(),
            approvals=1,
        ),
    ]
}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_transient_errors_and_a_lost_answer_still_apply_exactly_once(world: World, kind: str) -> None:
    m = MUTATIONS[kind]
    m.inject(world)
    before = m.observe(world)
    alert, settings = world.alert(), world.settings()
    ops = m.flow_client(world)
    with (
        inject_faults(ops, m.operation, [THROTTLE, UNAVAILABLE, CONNECT_TIMEOUT]) as faults,
        lose_answers(ops, m.operation) as lost,
        Script([approve("alice")] * m.approvals) as humans,
    ):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert (faults.injected, faults.calls) == (3, 4)
    assert (lost.injected, lost.calls) == (1, 1)  # one write reached AWS; its lost answer was not re-sent
    assert m.observe(world) != before
    first = report.mitigations[0]
    assert (first.kind, first.status, first.verified) == (kind, "applied", True)
    assert report.outcome is Outcome.MITIGATED and humans.refused == []
    [recorded] = timeline.events("aws-faults")
    assert len(recorded.data["aws_faults"]) == 4  # three retried errors and the lost answer
    assert timeline.events("applied")[0].data["request_ids"][0].startswith("unconfirmed:")


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_access_denied_changes_nothing_is_recorded_and_escalates(world: World, kind: str) -> None:
    m = MUTATIONS[kind]
    m.inject(world)
    before = m.observe(world)
    alert, settings = world.alert(), world.settings()
    # Approve the action under test; any later step (another fix, the human checklist) is
    # refused by the script, so the test sees where the flow went instead of waiting.
    with (
        inject_faults(m.flow_client(world), m.operation, [ACCESS_DENIED]) as faults,
        Script([approve("alice")] * m.approvals) as humans,
    ):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert faults.injected == 1
    assert m.observe(world) == before
    first = report.mitigations[0]
    assert (first.kind, first.status) == (kind, "failed") and "AccessDenied" in (first.detail or "")
    [failure] = timeline.events("apply-failed")[:1]
    assert "AccessDenied" in failure.message and failure.data["aws_faults"]
    assert failure.data["live_state"] == timeline.events("decision")[0].data["plan"]["before"]
    assert "human" in [s.kind for s in humans.steps]  # handed to a person
    assert report.outcome is not Outcome.MITIGATED


def test_failed_status_updates_and_evidence_upload_never_stop_the_fix(world: World) -> None:
    """Telling people and filing evidence are writes too: their failures are recorded, not fatal."""
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert, settings = world.alert(), world.settings()
    primary = AwsTarget(region=world.catalog.entry(n.SERVICE, n.ENVIRONMENT).primary_region)
    sns, s3 = client("sns", primary), client("s3", primary)
    with (
        inject_faults(sns, "sns.Publish", [ACCESS_DENIED]),  # the first update is refused...
        lose_answers(sns, "sns.Publish") as lost,  # ...the last one is sent but not answered
        inject_faults(s3, "s3.PutObject", [ACCESS_DENIED] * 500),  # evidence and shared records
        Script([]),
    ):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.flag() == "off" and report.outcome is Outcome.MITIGATED
    failed = [e.message for e in timeline.events("status-failed")]
    assert len(failed) == 2 and "AccessDenied" in failed[0] and "no answer" in failed[1]
    assert lost.calls == 1  # the unanswered update was not sent again
    assert "AccessDenied" in timeline.events("evidence-not-stored")[0].message
    assert "AccessDenied" in timeline.events("records-not-stored")[0].message
    assert report.evidence_uri is None
