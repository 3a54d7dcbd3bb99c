"""flows.mitigations: each hypothesis kind plans its action against live moto state, and the
kind ranking learns from (flows.ranking.mitigation_kind) is the kind that is planned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alerts.models import Alert
from flows.diagnosis import Hypothesis, HypothesisKind
from flows.incident_run import IncidentRun
from flows.mitigations import planner_for
from flows.ranking import mitigation_kind
from flows.settings import RunSettings
from flows.timeline import Timeline
from policies import Severity, default_policy
from tasks.aws import AwsTarget
from tasks.catalog import Capacity, Catalog, EcsService, RegionResources, TrafficMechanism
from tasks.plan import ActionError, Plan
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE


def _run(tmp_path: Path, catalog: Catalog) -> IncidentRun:
    alert = Alert(
        source="test", fingerprint="t", service=SERVICE, environment=ENV, region=EAST, name="ErrorRate",
        starts_at=datetime.now(UTC),
    )  # fmt: skip
    entry = catalog.entry(SERVICE, ENV)
    return IncidentRun(
        incident_id="INC-test",
        alert=alert,
        settings=RunSettings(),
        catalog=catalog,
        entry=entry,
        policy=default_policy(),
        timeline=Timeline(incident_id="INC-test", path=tmp_path / "timeline.json"),
        severity=Severity.SEV_2,
    )


def _with_traffic(catalog: Catalog, traffic: TrafficMechanism) -> Catalog:
    entry = catalog.entry(SERVICE, ENV).model_copy(update={"traffic": traffic})
    return Catalog(services={SERVICE: {ENV: entry}})


def _plan(tmp_path: Path, catalog: Catalog, **fields: Any) -> Plan:
    hypothesis = Hypothesis(score=0.8, summary="test", region=EAST, **fields)
    run = _run(tmp_path, catalog)
    plan = planner_for(hypothesis, run)()
    assert mitigation_kind(hypothesis, run.entry) == plan.kind  # what ranking counts is what is planned
    return plan


def test_scale_out_plans_more_ecs_tasks(aws: AwsTarget, tmp_path: Path) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=None)
    res = RegionResources(ecs=EcsService(cluster="checkout", service="web"), capacity=Capacity(max=4, step=1))
    plan = _plan(tmp_path, seed.catalog({EAST: res}), kind=HypothesisKind.SCALE_OUT, mechanism="ecs")
    assert (plan.kind, plan.before["desired"], plan.after["desired"]) == ("capacity.scale.ecs", 2, 3)


def test_scale_out_plans_more_asg_instances(aws: AwsTarget, tmp_path: Path) -> None:
    name = sc.seed_asg_capacity(desired=1, max_size=4, policy=False)
    res = RegionResources(asg_name=name, capacity=Capacity(max=3, step=2))
    plan = _plan(tmp_path, seed.catalog({EAST: res}), kind=HypothesisKind.SCALE_OUT, mechanism="asg")
    assert (plan.kind, plan.before["desired"], plan.after["desired"]) == ("capacity.scale.asg", 1, 3)


def test_open_breaker_plans_the_dependencys_flag_on(aws: AwsTarget, tmp_path: Path) -> None:
    store, dependencies = sc.seed_ssm_breaker("off")
    catalog = seed.catalog({EAST: RegionResources()}, flags=store, dependencies=dependencies)
    plan = _plan(
        tmp_path, catalog, kind=HypothesisKind.OPEN_BREAKER, dependency="payments", flag="payments-breaker"
    )
    assert (plan.kind, plan.before, plan.after) == ("breaker.open.ssm", {"enabled": False}, {"enabled": True})
    assert plan.params["on_value"] == "true"  # the catalog's on value for this flag


def test_throttle_plans_the_emergency_stage_limits(aws: AwsTarget, tmp_path: Path) -> None:
    stage = sc.seed_stage()
    plan = _plan(
        tmp_path, seed.catalog({EAST: RegionResources(api_gateway=stage)}), kind=HypothesisKind.THROTTLE
    )
    assert plan.kind == "throttle.apigateway" and plan.after != plan.before


def test_maintenance_plans_the_page_on_the_listener(aws: AwsTarget, tmp_path: Path) -> None:
    listener = seed.seed_alb(EAST, {"blue": 100})
    plan = _plan(
        tmp_path, seed.catalog({EAST: RegionResources(alb=listener)}), kind=HypothesisKind.MAINTENANCE
    )
    assert (plan.kind, plan.before, plan.after) == (
        "maintenance.enable.alb",
        {"enabled": False},
        {"enabled": True},
    )


def test_shift_by_alb_plans_the_hypothesis_weights(aws: AwsTarget, tmp_path: Path) -> None:
    listener = seed.seed_alb(EAST, {"blue": 50, "green": 50})
    blue, green = listener.target_group_arns
    catalog = seed.catalog({EAST: RegionResources(alb=listener)})
    catalog = _with_traffic(catalog, TrafficMechanism.ALB)
    plan = _plan(tmp_path, catalog, kind=HypothesisKind.SHIFT_TRAFFIC, weights={green: 100, blue: 0})
    assert plan.kind == "traffic.shift.alb" and plan.before == {blue: 50, green: 50}
    assert plan.after[green] > plan.before[green]


def test_shift_by_lambda_plans_the_primary_version(aws: AwsTarget, tmp_path: Path) -> None:
    alias = seed.seed_lambda(EAST, versions=2, alias_version="2")
    catalog = seed.catalog({EAST: RegionResources(lambda_alias=alias)})
    catalog = _with_traffic(catalog, TrafficMechanism.LAMBDA)
    plan = _plan(tmp_path, catalog, kind=HypothesisKind.SHIFT_TRAFFIC, weights={"1": 100, "2": 0})
    assert plan.kind == "traffic.shift.lambda" and plan.before == {"2": 100} and plan.after.get("1", 0) > 0


def test_a_config_change_has_no_planner(tmp_path: Path) -> None:
    hypothesis = Hypothesis(kind=HypothesisKind.CONFIG_CHANGE, score=0.5, summary="bob changed it")
    run = _run(tmp_path, seed.catalog())
    with pytest.raises(ActionError, match="no automated mitigation"):
        planner_for(hypothesis, run)
    assert mitigation_kind(hypothesis, run.entry) is None
