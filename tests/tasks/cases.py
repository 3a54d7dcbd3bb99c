"""One seeded, planned scenario per action kind, for the shared contract tests.

A case holds the plan and, independently of the code under test, how to observe the state in
moto with plain boto3 calls (``observe``), how another actor could change it behind our back
(``drift``), which call is the mutating one (for fault injection) and a moto-side write count
where the service keeps one (``history``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from tasks.aws import AwsTarget, client
from tasks.catalog import FlagStore, RegionResources
from tasks.flags import plan_flag_change
from tasks.plan import JsonDict, Plan
from tasks.rollback import plan_asg_rollback, plan_ecs_rollback, plan_lambda_rollback
from tasks.traffic import plan_alb_shift, plan_lambda_shift, plan_route53_shift
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, WEST, raw_client


@dataclass
class Case:
    plan: Plan
    observe: Callable[[], JsonDict]
    write_op: tuple[str, str]  # (boto3 service, "Service.Operation") of the mutating call
    drift: Callable[[], None] | None = None  # None: the state has no third value to drift to
    history: Callable[[], int] | None = None
    # False where the write's answer is needed to go on (AppConfig: the new version's number)
    lost_answer_applies: bool = True

    def write_client(self) -> Any:
        return client(self.write_op[0], AwsTarget(region=EAST))


def route53(aws: AwsTarget, stack: ExitStack) -> Case:
    record = seed.seed_route53({EAST: 100, WEST: 100})
    r53 = raw_client("route53", EAST)

    def observe() -> JsonDict:
        sets = r53.list_resource_record_sets(HostedZoneId=record.zone_id)["ResourceRecordSets"]
        return {rr["SetIdentifier"]: rr["Weight"] for rr in sets if "SetIdentifier" in rr}

    def drift() -> None:
        rr = next(
            r
            for r in r53.list_resource_record_sets(HostedZoneId=record.zone_id)["ResourceRecordSets"]
            if r.get("SetIdentifier") == EAST
        )
        change: Any = {"Action": "UPSERT", "ResourceRecordSet": {**rr, "Weight": 50}}
        r53.change_resource_record_sets(HostedZoneId=record.zone_id, ChangeBatch={"Changes": [change]})

    cat = seed.catalog(route53=record)
    plan = plan_route53_shift(catalog=cat, service=SERVICE, environment=ENV, away_from=EAST, aws=aws)
    return Case(plan, observe, ("route53", "route53.ChangeResourceRecordSets"), drift)


def alb(aws: AwsTarget, stack: ExitStack) -> Case:
    listener = seed.seed_alb(EAST, {"blue": 100, "green": 0})
    blue, green = listener.target_group_arns
    elbv2 = raw_client("elbv2", EAST)

    def observe() -> JsonDict:
        action = elbv2.describe_listeners(ListenerArns=[listener.listener_arn])["Listeners"][0][
            "DefaultActions"
        ][0]
        return {tg["TargetGroupArn"]: tg["Weight"] for tg in action["ForwardConfig"]["TargetGroups"]}

    def drift() -> None:
        groups: Any = [{"TargetGroupArn": blue, "Weight": 50}, {"TargetGroupArn": green, "Weight": 50}]
        elbv2.modify_listener(
            ListenerArn=listener.listener_arn,
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
        )

    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    plan = plan_alb_shift(
        catalog=cat, service=SERVICE, environment=ENV, region=EAST, weights={blue: 0, green: 100}, aws=aws
    )
    return Case(plan, observe, ("elbv2", "elbv2.ModifyListener"), drift)


def _alias_observer(region: str) -> Callable[[], JsonDict]:
    fn = raw_client("lambda", region)

    def observe() -> JsonDict:
        alias = fn.get_alias(FunctionName="checkout-fn", Name="live")
        extra = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        split = {v: round(w * 100) for v, w in extra.items()}
        return {**split, alias["FunctionVersion"]: 100 - sum(split.values())}

    return observe


def lambda_shift(aws: AwsTarget, stack: ExitStack) -> Case:
    alias = seed.seed_lambda(EAST, versions=2, alias_version="1")
    cat = seed.catalog({EAST: RegionResources(lambda_alias=alias)})
    plan = plan_lambda_shift(
        catalog=cat, service=SERVICE, environment=ENV, region=EAST, weights={"1": 90, "2": 10}, aws=aws
    )

    def drift() -> None:
        raw_client("lambda", EAST).update_alias(FunctionName="checkout-fn", Name="live", FunctionVersion="2")

    return Case(plan, _alias_observer(EAST), ("lambda", "lambda.UpdateAlias"), drift)


def ssm_flag(aws: AwsTarget, stack: ExitStack) -> Case:
    store = seed.seed_ssm_flag("on")
    ssm = raw_client("ssm", EAST)
    name = store.flags["new-pricing"]

    def observe() -> JsonDict:
        return {"enabled": ssm.get_parameter(Name=name)["Parameter"]["Value"] == "on"}

    def history() -> int:
        return len(ssm.get_parameter_history(Name=name)["Parameters"])

    cat = seed.catalog(flags=store)
    plan = plan_flag_change(
        catalog=cat, service=SERVICE, environment=ENV, flag="new-pricing", enabled=False, aws=aws
    )
    return Case(plan, observe, ("ssm", "ssm.PutParameter"), history=history)


def appconfig_flag(aws: AwsTarget, stack: ExitStack) -> Case:
    store, fake = seed.seed_appconfig()
    stack.enter_context(fake.serving(client("appconfig", aws)))
    cat = seed.catalog(flags=store)
    plan = plan_flag_change(
        catalog=cat, service=SERVICE, environment=ENV, flag="new-pricing", enabled=False, aws=aws
    )
    return appconfig_case(plan, store, fake)


def appconfig_case(plan: Plan, store: FlagStore, fake: seed.FakeAppConfigDeployments) -> Case:
    """The case of a plan that changes ``new_pricing`` in the seeded AppConfig profile."""
    raw = raw_client("appconfig", EAST)

    def observe() -> JsonDict:
        live = [d for d in fake.items if d["State"] == "COMPLETE"][-1]
        content = raw.get_hosted_configuration_version(
            ApplicationId=store.appconfig_application,
            ConfigurationProfileId=store.appconfig_profile,
            VersionNumber=int(live["ConfigurationVersion"]),
        )["Content"].read()
        return {"enabled": json.loads(content)["values"]["new_pricing"]["enabled"]}

    return Case(
        plan,
        observe,
        ("appconfig", "appconfig.CreateHostedConfigurationVersion"),
        history=lambda: len(fake.items),
        lost_answer_applies=False,
    )


def ecs(aws: AwsTarget, stack: ExitStack) -> Case:
    regions = {r: RegionResources(ecs=seed.seed_ecs(r, revisions=3)) for r in (EAST, WEST)}

    def observe() -> JsonDict:
        return {
            r: raw_client("ecs", r).describe_services(cluster="checkout", services=["web"])["services"][0][
                "taskDefinition"
            ]
            for r in (EAST, WEST)
        }

    def drift() -> None:
        raw_client("ecs", WEST).update_service(
            cluster="checkout", service="web", taskDefinition="checkout-web:1"
        )

    plan = plan_ecs_rollback(catalog=seed.catalog(regions), service=SERVICE, environment=ENV, aws=aws)
    return Case(plan, observe, ("ecs", "ecs.UpdateService"), drift)


def lambda_rollback(aws: AwsTarget, stack: ExitStack) -> Case:
    regions = {
        r: RegionResources(lambda_alias=seed.seed_lambda(r, versions=3, alias_version="3"))
        for r in (EAST, WEST)
    }
    observers = {r: _alias_observer(r) for r in (EAST, WEST)}

    def drift() -> None:
        raw_client("lambda", WEST).update_alias(FunctionName="checkout-fn", Name="live", FunctionVersion="1")

    plan = plan_lambda_rollback(catalog=seed.catalog(regions), service=SERVICE, environment=ENV, aws=aws)
    return Case(plan, lambda: {r: o() for r, o in observers.items()}, ("lambda", "lambda.UpdateAlias"), drift)


def asg(aws: AwsTarget, stack: ExitStack) -> Case:
    name = seed.seed_asg(EAST, versions=3)
    autoscaling = raw_client("autoscaling", EAST)

    def observe() -> JsonDict:
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        template = group["LaunchTemplate"]
        on_version = all(i["LaunchTemplate"]["Version"] == template["Version"] for i in group["Instances"])
        return {
            EAST: {
                "launch_template_id": template["LaunchTemplateId"],
                "version": template["Version"],
                "instances_on_version": on_version,
            }
        }

    def drift() -> None:
        template = observe()[EAST]["launch_template_id"]
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": template, "Version": "1"}
        )

    cat = seed.catalog({EAST: RegionResources(asg_name=name)})
    plan = plan_asg_rollback(catalog=cat, service=SERVICE, environment=ENV, aws=aws)
    return Case(plan, observe, ("autoscaling", "autoscaling.UpdateAutoScalingGroup"), drift)


# A flag is on or off: a concurrent change can only make it equal ``before`` or ``after``. Values
# that are neither are refused (test_flags).
TWO_STATE = frozenset({"flags.disable.ssm", "flags.disable.appconfig"})

CASES: dict[str, Callable[[AwsTarget, ExitStack], Case]] = {
    "traffic.shift.route53": route53,
    "traffic.shift.alb": alb,
    "traffic.shift.lambda": lambda_shift,
    "flags.disable.ssm": ssm_flag,
    "flags.disable.appconfig": appconfig_flag,
    "rollback.ecs": ecs,
    "rollback.lambda": lambda_rollback,
    "rollback.asg": asg,
}
