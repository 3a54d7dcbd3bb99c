"""From a CloudWatch alarm (via EventBridge) to a rolled-back ECS service, through the real stack.

A bad deploy breaks checkout in eu-west-1; the simulator raises the alarm; the alarm's
EventBridge event is posted to ``firebreak serve``, which creates the incident run on the
``incident-response/incident`` deployment; the worker runs it in its own process against the
moto server; the run pauses for approval, answered through the resume API as ``firebreak
approve`` does; the rollback lands in moto; the run ends Completed. Posting the same event
again finds the same run.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import FlowRun, StateType

from drills import seed_names as n
from drills.alerting import wait_for_alarm
from drills.clock import DrillClock
from drills.faults import inject_bad_deploy
from drills.simulator import Simulator
from flows.deployments import RUN_SETTINGS_VARIABLE, WORK_POOL
from flows.pending import PendingStep, answer_step, approval_input, pending_steps
from tasks.aws import call, client
from tasks.catalog import Catalog
from tests.integration.conftest import EVENTBRIDGE_TOKEN, Stack
from tests.people import key_of

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "alerts" / "eventbridge_alarm.json"
ACCOUNT = "123456789012"
EXPECTED_DEPLOYMENTS = {
    "incident-response/incident",
    "status-page-update/post",
    "snapshot/manual",
    "shift-traffic/manual",
    "disable-flag/manual",
    "rollback/manual",
    "recover/manual",
}


def alarm_event(catalog: Catalog, region: str, onset: datetime) -> dict[str, Any]:
    """The recorded EventBridge alarm event, made to describe the seeded error-rate alarm."""
    event: dict[str, Any] = json.loads(FIXTURE.read_text())
    resources = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region)
    alarm, spec = resources.alarms[0], resources.metrics[0]
    event.update(
        id=f"integration-{alarm}-{int(onset.timestamp())}",
        time=onset.isoformat(),
        region=region,
        resources=[f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{alarm}"],
    )
    detail = event["detail"]
    detail["alarmName"] = alarm
    detail["state"]["timestamp"] = onset.isoformat()
    detail["configuration"]["metrics"][0]["metricStat"] = {
        "metric": {"namespace": spec.namespace, "name": spec.metric_name, "dimensions": spec.dimensions},
        "period": 10,
        "stat": "Average",
    }
    detail["alarmTags"] = {"service": n.SERVICE, "env": n.ENVIRONMENT}
    return event


def post_alert(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.receiver_url}/alerts/eventbridge",
        json=event,
        headers={"Authorization": f"Bearer {EVENTBRIDGE_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_for_approval(flow_run_id: UUID, timeout: float) -> PendingStep:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = next((s for s in pending_steps() if s.flow_run_id == flow_run_id), None)
        if step is not None:
            return step
        time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} did not pause for approval within {timeout}s")


def wait_for_final(flow_run_id: UUID, timeout: float) -> FlowRun:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as prefect:
        while time.monotonic() < deadline:
            run = prefect.read_flow_run(flow_run_id)
            if run.state is not None and run.state.is_final():
                return run
            time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} not finished within {timeout}s")


def ecs_task_definition(stack: Stack, region: str) -> str:
    ecs_ref = stack.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).ecs
    assert ecs_ref is not None
    ecs = client("ecs", stack.sandbox.target(region))
    described = call(ecs, "describe_services", cluster=ecs_ref.cluster, services=[ecs_ref.service])
    return str(described["services"][0]["taskDefinition"])


@pytest.mark.timeout(120)
def test_prefect_yaml_deploys_every_flow_on_the_pool_with_the_published_settings(stack: Stack) -> None:
    with get_client(sync_client=True) as prefect:
        deployments = prefect.read_deployments()
        flows = {f.id: f.name for f in prefect.read_flows()}
        variable = prefect.read_variable_by_name(RUN_SETTINGS_VARIABLE)
    assert {f"{flows[d.flow_id]}/{d.name}" for d in deployments} == EXPECTED_DEPLOYMENTS
    assert variable is not None
    for deployment in deployments:
        assert deployment.work_pool_name == WORK_POOL
        assert deployment.parameters == {"settings": variable.value}
        assert deployment.enforce_parameter_schema
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $FIREBREAK_HOME }}"}}
        ]
    assert variable.value == stack.settings.model_dump(mode="json", exclude_defaults=True)


@pytest.mark.timeout(120)
def test_eventbridge_alarm_becomes_an_approved_rollback_run_by_the_worker(stack: Stack) -> None:
    region = n.PRIMARY_REGION
    with Simulator(stack.catalog, stack.sandbox.endpoint_url, DrillClock()):
        fault = inject_bad_deploy(stack.sandbox.target(), stack.catalog, region)
        onset = wait_for_alarm(stack.catalog, stack.sandbox, region)
        event = alarm_event(stack.catalog, region, onset)

        first = post_alert(stack, event)
        assert [s["created"] for s in first["started"]] == [True], first
        flow_run_id = UUID(first["started"][0]["flow_run_id"])

        step = wait_for_approval(flow_run_id, timeout=60)
        assert step.kind == "approval"
        assert "rollback" in step.description
        answer = approval_input(
            step, approver="alice", approve=True, reason="integration", key=key_of("alice")
        )
        answer_step(flow_run_id, answer)

        run = wait_for_final(flow_run_id, timeout=60)

    assert run.state is not None
    assert run.state.type is StateType.COMPLETED, f"{run.state.message}\n{stack.worker.tail()}"
    assert "mitigated" in (run.state.message or "")
    assert ecs_task_definition(stack, region) == fault.before

    again = post_alert(stack, event)
    assert again["started"] == [{**first["started"][0], "created": False}]
    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["incident"]))
        )
    assert [r.id for r in runs] == [flow_run_id]
