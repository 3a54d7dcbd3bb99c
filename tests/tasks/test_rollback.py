"""Rollbacks: target selection, and a multi-region rollback undone when a region fails."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan
from tasks.aws import AwsTarget, client
from tasks.catalog import CatalogError, RegionResources
from tasks.plan import ActionError, PartialApplyError
from tasks.rollback import plan_asg_rollback, plan_ecs_rollback, plan_lambda_rollback
from tasks.rollback_regional import NoKnownGoodReleaseError
from tests.faults import ACCESS_DENIED, inject_faults
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, WEST, raw_client


def _ecs_state(region: str) -> tuple[str, int]:
    svc = raw_client("ecs", region).describe_services(cluster="checkout", services=["web"])["services"][0]
    return svc["taskDefinition"].rsplit("/", 1)[-1], svc["desiredCount"]


def _two_region_ecs() -> dict[str, RegionResources]:
    return {r: RegionResources(ecs=seed.seed_ecs(r, revisions=3)) for r in (EAST, WEST)}


def test_ecs_rollback_keeps_desired_count(aws: AwsTarget) -> None:
    plan = plan_ecs_rollback(
        catalog=seed.catalog(_two_region_ecs()), service=SERVICE, environment=ENV, aws=aws
    )
    assert plan.blast_radius == 1.0 and "us-east-1 checkout-web:3→checkout-web:2" in plan.summary
    apply_plan(plan)
    assert [_ecs_state(r) for r in (EAST, WEST)] == [("checkout-web:2", 2), ("checkout-web:2", 2)]


def test_ecs_rollback_to_a_named_revision_in_one_region(aws: AwsTarget) -> None:
    cat = seed.catalog(_two_region_ecs())
    plan = plan_ecs_rollback(
        catalog=cat, service=SERVICE, environment=ENV, regions=[WEST], to_revision="1", aws=aws
    )
    assert plan.blast_radius == 0.5 and list(plan.after) == [WEST]
    apply_plan(plan)
    assert [_ecs_state(r)[0] for r in (EAST, WEST)] == ["checkout-web:3", "checkout-web:1"]


def test_ecs_region_two_fails_region_one_is_undone(aws: AwsTarget) -> None:
    plan = plan_ecs_rollback(
        catalog=seed.catalog(_two_region_ecs()), service=SERVICE, environment=ENV, aws=aws
    )
    west = client("ecs", aws.in_region(WEST))
    with inject_faults(west, "ecs.UpdateService", [ACCESS_DENIED]), pytest.raises(PartialApplyError) as err:
        apply_plan(plan)
    assert err.value.undone == [f"rollback.ecs in {EAST}"]
    assert "AccessDenied" in str(err.value) and WEST in str(err.value)
    assert [_ecs_state(r)[0] for r in (EAST, WEST)] == ["checkout-web:3", "checkout-web:3"]


def test_ecs_without_older_revision_or_service(aws: AwsTarget) -> None:
    cat = seed.catalog({EAST: RegionResources(ecs=seed.seed_ecs(EAST, revisions=1))})
    with pytest.raises(NoKnownGoodReleaseError, match=r"created on checkout-web:1 .*nothing ran before it"):
        plan_ecs_rollback(catalog=cat, service=SERVICE, environment=ENV, aws=aws)
    with pytest.raises(CatalogError, match="no region has an ECS service"):
        plan_ecs_rollback(catalog=seed.catalog(), service=SERVICE, environment=ENV, aws=aws)
    with pytest.raises(CatalogError, match="'us-west-2' lacks an ECS service"):
        plan_ecs_rollback(
            catalog=seed.catalog({EAST: cat.entry(SERVICE, ENV).regions[EAST], WEST: RegionResources()}),
            service=SERVICE,
            environment=ENV,
            regions=[WEST],
            aws=aws,
        )


def test_lambda_rollback_of_a_canary_goes_back_to_the_stable_version(aws: AwsTarget) -> None:
    alias = seed.seed_lambda(EAST, versions=3, alias_version="2")
    raw_client("lambda", EAST).update_alias(
        FunctionName="checkout-fn", Name="live", RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}}
    )
    plan = plan_lambda_rollback(
        catalog=seed.catalog({EAST: RegionResources(lambda_alias=alias)}),
        service=SERVICE,
        environment=ENV,
        aws=aws,
    )
    assert (plan.before, plan.after) == ({EAST: {"2": 90, "3": 10}}, {EAST: {"2": 100}})
    apply_plan(plan)
    got = raw_client("lambda", EAST).get_alias(FunctionName="checkout-fn", Name="live")
    assert got["FunctionVersion"] == "2"
    assert not (got.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_lambda_rollback_to_a_version_that_does_not_exist(aws: AwsTarget) -> None:
    alias = seed.seed_lambda(EAST, versions=2, alias_version="2")
    with pytest.raises(ActionError, match="version 9 does not exist"):
        plan_lambda_rollback(
            catalog=seed.catalog({EAST: RegionResources(lambda_alias=alias)}),
            service=SERVICE,
            environment=ENV,
            to_version="9",
            aws=aws,
        )


def test_asg_rollback_resolves_latest(aws: AwsTarget) -> None:
    name = seed.seed_asg(EAST, versions=3)
    autoscaling = raw_client("autoscaling", EAST)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    template = group["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"}
    )
    plan = plan_asg_rollback(
        catalog=seed.catalog({EAST: RegionResources(asg_name=name)}),
        service=SERVICE,
        environment=ENV,
        aws=aws,
    )
    assert plan.after == {
        EAST: {"launch_template_id": template, "version": "2", "instances_on_version": True}
    }
    apply_plan(plan)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["Version"] == "2"
