"""Contract cases (tests.tasks.cases) for the containment kinds: scale-out, breakers, throttling,
the maintenance page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from tasks.aws import AwsTarget, client
from tasks.breaker import plan_breaker
from tasks.capacity import plan_asg_scale_out, plan_ecs_scale_out
from tasks.catalog import Capacity, Dependency, EcsService, RegionResources
from tasks.maintenance_alb import plan_maintenance
from tasks.plan import JsonDict
from tasks.throttle_apigateway import plan_throttle
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.cases import Case, appconfig_case
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client


def ecs_capacity(aws: AwsTarget, stack: ExitStack) -> Case:
    sc.seed_ecs_capacity(desired=2, scalable=(2, 3))
    web = EcsService(cluster="checkout", service="web")
    cat = seed.catalog({EAST: RegionResources(ecs=web, capacity=Capacity(max=4, step=2))})
    plan = plan_ecs_scale_out(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)

    def observe() -> JsonDict:
        seen = sc.observe_ecs()
        return {"desired": seen["desired"], "min": seen["bounds"][0], "max": seen["bounds"][1]}

    def drift() -> None:
        raw_client("ecs", EAST).update_service(cluster="checkout", service="web", desiredCount=3)

    # The first of the two writes; a failure of the second is tests.tasks.test_capacity_ecs.
    return Case(
        plan, observe, ("application-autoscaling", "application-autoscaling.RegisterScalableTarget"), drift
    )


def asg_capacity(aws: AwsTarget, stack: ExitStack) -> Case:
    name = sc.seed_asg_capacity(desired=2, max_size=2, policy=True)
    cat = seed.catalog({EAST: RegionResources(asg_name=name, capacity=Capacity(max=4, step=1))})
    plan = plan_asg_scale_out(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)

    def observe() -> JsonDict:
        seen = sc.observe_asg(name)
        return {k: seen[k] for k in ("desired", "min", "max")}

    def drift() -> None:
        raw_client("autoscaling", EAST).set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)

    return Case(plan, observe, ("autoscaling", "autoscaling.UpdateAutoScalingGroup"), drift)


def ssm_breaker(aws: AwsTarget, stack: ExitStack) -> Case:
    store, dependencies = sc.seed_ssm_breaker("off")
    ssm = raw_client("ssm", EAST)
    cat = seed.catalog(flags=store, dependencies=dependencies)
    plan = plan_breaker(
        catalog=cat, service=SERVICE, environment=ENV, dependency="payments", open=True, aws=aws
    )

    def observe() -> JsonDict:
        return {"enabled": ssm.get_parameter(Name=sc.BREAKER_PARAMETER)["Parameter"]["Value"] == "true"}

    def history() -> int:
        return len(ssm.get_parameter_history(Name=sc.BREAKER_PARAMETER)["Parameters"])

    return Case(plan, observe, ("ssm", "ssm.PutParameter"), history=history)


def appconfig_breaker(aws: AwsTarget, stack: ExitStack) -> Case:
    store, fake = seed.seed_appconfig(enabled=False)
    stack.enter_context(fake.serving(client("appconfig", aws)))
    cat = seed.catalog(flags=store, dependencies={"pricing": Dependency(breaker_flag="new-pricing")})
    plan = plan_breaker(
        catalog=cat, service=SERVICE, environment=ENV, dependency="pricing", open=True, aws=aws
    )
    return appconfig_case(plan, store, fake)


def throttle(aws: AwsTarget, stack: ExitStack) -> Case:
    stage = sc.seed_stage(rate=100.0, burst=200)
    cat = seed.catalog({EAST: RegionResources(api_gateway=stage)})
    plan = plan_throttle(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    return Case(
        plan,
        lambda: sc.observe_stage(stage.rest_api),
        ("apigateway", "apigateway.UpdateStage"),
        lambda: sc.set_stage_throttling(stage.rest_api, 80.0, 150),
    )


def maintenance(aws: AwsTarget, stack: ExitStack) -> Case:
    listener = seed.seed_alb(EAST, {"blue": 100})
    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    plan = plan_maintenance(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    return Case(
        plan,
        lambda: sc.observe_maintenance(listener.listener_arn),
        ("elbv2", "elbv2.CreateRule"),
        history=lambda: len(sc.maintenance_rules(listener.listener_arn)),
    )


TWO_STATE = frozenset({"breaker.open.ssm", "breaker.open.appconfig", "maintenance.enable.alb"})

CASES: dict[str, Callable[[AwsTarget, ExitStack], Case]] = {
    "capacity.scale.ecs": ecs_capacity,
    "capacity.scale.asg": asg_capacity,
    "breaker.open.ssm": ssm_breaker,
    "breaker.open.appconfig": appconfig_breaker,
    "throttle.apigateway": throttle,
    "maintenance.enable.alb": maintenance,
}
