"""Rollback goes back to what really ran before, read from the resource's history in moto.

CloudTrail is the sandbox's recording one (tests/tasks/conftest.py installs drills.moto_gaps),
so every seeded write is in the history exactly as a deployer's call would be on AWS.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from drills import moto_gaps
from tasks import rollback_asg
from tasks.actions import apply_plan, verify_plan
from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog, RegionResources
from tasks.evidence import ReleaseSource
from tasks.plan import Plan
from tasks.rollback import plan_asg_rollback, plan_ecs_rollback, plan_lambda_rollback
from tasks.rollback_regional import InactiveReleaseError, NoKnownGoodReleaseError
from tasks.snapshot import take_snapshot
from tests.faults import canned
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client


def _running() -> str:
    svc = raw_client("ecs", EAST).describe_services(cluster="checkout", services=["web"])["services"][0]
    return str(svc["taskDefinition"]).rsplit("/", 1)[-1]


def _staging_world() -> Catalog:
    """Rev 2 deployed and running, rev 3 registered for staging and never deployed, bad rev 4 deployed."""
    svc = seed.seed_ecs(EAST, revisions=2, deployed=[1, 2])
    seed.register_revision(EAST, 3)
    seed.register_revision(EAST, 4)
    raw_client("ecs", EAST).update_service(cluster="checkout", service="web", taskDefinition="checkout-web:4")
    return seed.catalog({EAST: RegionResources(ecs=svc)})


def test_the_snapshot_says_rev_2_ran_before_the_bad_deploy_not_the_staging_rev_3(aws: AwsTarget) -> None:
    bundle = take_snapshot(
        catalog=_staging_world(), service=SERVICE, environment=ENV, onset=datetime.now(UTC), aws=aws
    )
    [deploy] = [c for c in bundle.changes if c.kind == "ecs.deploy"]
    assert str(deploy.after).endswith("/checkout-web:4") and str(deploy.before).endswith("/checkout-web:2")
    assert deploy.before_source is not None and deploy.before_source.source is ReleaseSource.CLOUDTRAIL
    assert deploy.write is not None and deploy.write.event_name == "UpdateService"
    ecs = bundle.regions[EAST].ecs
    assert ecs is not None and str(ecs.previous_task_definition).endswith("/checkout-web:2")


def test_the_rollback_targets_what_ran_before_and_says_where_that_came_from(aws: AwsTarget) -> None:
    plan = plan_ecs_rollback(catalog=_staging_world(), service=SERVICE, environment=ENV, aws=aws)
    assert plan.after[EAST].endswith("/checkout-web:2")
    assert plan.params["target_source"][EAST].startswith("CloudTrail: UpdateService")
    assert "CloudTrail" in plan.summary
    apply_plan(plan)
    assert _running() == "checkout-web:2"


def test_a_target_found_in_the_evidence_is_passed_through_and_checked(aws: AwsTarget) -> None:
    catalog = _staging_world()
    plan = plan_ecs_rollback(
        catalog=catalog,
        service=SERVICE,
        environment=ENV,
        to_revision="checkout-web:2",
        source="the hypothesis",
        aws=aws,
    )
    assert plan.params["target_source"] == {EAST: "the hypothesis"}
    apply_plan(plan)
    assert _running() == "checkout-web:2"
    raw_client("ecs", EAST).deregister_task_definition(taskDefinition="checkout-web:3")
    with pytest.raises(InactiveReleaseError, match="checkout-web:3 is INACTIVE"):
        plan_ecs_rollback(catalog=catalog, service=SERVICE, environment=ENV, to_revision="3", aws=aws)


def test_no_record_of_what_ran_before_means_no_automated_rollback(aws: AwsTarget) -> None:
    catalog = _staging_world()
    with (
        canned(client("cloudtrail", aws), "cloudtrail.LookupEvents", {"Events": []}),
        pytest.raises(NoKnownGoodReleaseError) as err,
    ):
        plan_ecs_rollback(catalog=catalog, service=SERVICE, environment=ENV, aws=aws)
    assert "no record says what ran before checkout-web:4 on checkout/web" in str(err.value)
    assert "CloudTrail has 0 release event(s)" in str(err.value) and "no draining deployment" in str(
        err.value
    )
    assert _running() == "checkout-web:4"


def test_lambda_rollback_goes_back_to_the_version_the_alias_pointed_to(aws: AwsTarget) -> None:
    alias = seed.seed_lambda(EAST, versions=4, alias_version="2")  # 3 published, never live
    raw_client("lambda", EAST).update_alias(FunctionName="checkout-fn", Name="live", FunctionVersion="4")
    plan = plan_lambda_rollback(
        catalog=seed.catalog({EAST: RegionResources(lambda_alias=alias)}),
        service=SERVICE,
        environment=ENV,
        aws=aws,
    )
    assert (
        plan.after == {EAST: {"2": 100}} and "CloudTrail: UpdateAlias" in plan.params["target_source"][EAST]
    )
    apply_plan(plan)
    assert (
        raw_client("lambda", EAST).get_alias(FunctionName="checkout-fn", Name="live")["FunctionVersion"]
        == "2"
    )


@pytest.fixture
def quick_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_gaps, "REFRESH_SECONDS", 0.2)
    monkeypatch.setattr(rollback_asg, "REFRESH_POLL_SECONDS", 0.05)


def _instance_versions(name: str) -> list[str]:
    group = raw_client("autoscaling", EAST).describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return [i["LaunchTemplate"]["Version"] for i in group["AutoScalingGroups"][0]["Instances"]]


def _wait_for_refreshes(name: str) -> None:
    for _ in range(400):
        found = raw_client("autoscaling", EAST).describe_instance_refreshes(AutoScalingGroupName=name)
        if all(r["Status"] == "Successful" for r in found["InstanceRefreshes"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"the instance refreshes of {name} never finished")


def _asg_plan(aws: AwsTarget) -> tuple[str, Plan]:
    name = seed.seed_asg(EAST, versions=1, instances=2)
    group = raw_client("autoscaling", EAST).describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    template = group["AutoScalingGroups"][0]["LaunchTemplate"]["LaunchTemplateId"]
    raw_client("ec2", EAST).create_launch_template_version(
        LaunchTemplateId=template, LaunchTemplateData={"ImageId": "ami-bad00bad", "InstanceType": "t3.micro"}
    )
    raw_client("autoscaling", EAST).update_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": template, "Version": "2"}
    )
    raw_client("autoscaling", EAST).start_instance_refresh(AutoScalingGroupName=name)  # the bad rollout
    _wait_for_refreshes(name)
    catalog = seed.catalog({EAST: RegionResources(asg_name=name)})
    return name, plan_asg_rollback(catalog=catalog, service=SERVICE, environment=ENV, aws=aws)


def test_asg_rollback_refreshes_the_instances_onto_the_version_that_ran(
    aws: AwsTarget, quick_refresh: None
) -> None:
    name, plan = _asg_plan(aws)
    assert _instance_versions(name) == ["2", "2"]  # the bad refresh has finished
    assert plan.after[EAST]["version"] == "1" and plan.after[EAST]["instances_on_version"]
    assert "instance refresh" in plan.summary
    applied = apply_plan(plan)
    assert applied.changed and _instance_versions(name) == ["1", "1"]
    refreshes = raw_client("autoscaling", EAST).describe_instance_refreshes(AutoScalingGroupName=name)
    assert [r["Status"] for r in refreshes["InstanceRefreshes"]] == ["Successful", "Successful"]
    assert verify_plan(plan)
    again = apply_plan(plan)
    assert not again.changed
    assert (
        len(
            raw_client("autoscaling", EAST).describe_instance_refreshes(AutoScalingGroupName=name)[
                "InstanceRefreshes"
            ]
        )
        == 2
    )


def test_asg_verify_fails_while_the_instances_still_run_the_bad_version(
    aws: AwsTarget, quick_refresh: None
) -> None:
    name, plan = _asg_plan(aws)
    template = plan.after[EAST]["launch_template_id"]
    raw_client("autoscaling", EAST).update_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": template, "Version": "1"}
    )  # the version alone, as the old rollback did: nothing that runs has changed
    assert _instance_versions(name) == ["2", "2"]
    assert not verify_plan(plan)
