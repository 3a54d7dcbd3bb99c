"""Seed moto with what the containment actions touch: scalable services, a REST API stage, a
breaker flag, and read it back with plain boto3 (independently of the code under test)."""

from __future__ import annotations

from typing import Any

from tasks.catalog import ApiGatewayStage, Dependency, FlagStore, FlagStoreKind
from tasks.plan import JsonDict
from tests.tasks import seed
from tests.tasks.seed import EAST, raw_client

BREAKER_PARAMETER = "/checkout/flags/payments-breaker"
ECS_RESOURCE = "service/checkout/web"
DIMENSION = "ecs:service:DesiredCount"


def seed_ecs_capacity(*, desired: int, scalable: tuple[int, int] | None) -> None:
    """Service ``checkout/web`` running ``desired`` tasks; a scalable target (min, max) if given."""
    seed.seed_ecs(EAST, revisions=1)
    raw_client("ecs", EAST).update_service(cluster="checkout", service="web", desiredCount=desired)
    if scalable is not None:
        raw_client("application-autoscaling", EAST).register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=ECS_RESOURCE,
            ScalableDimension=DIMENSION,
            MinCapacity=scalable[0],
            MaxCapacity=scalable[1],
        )


def observe_ecs() -> JsonDict:
    svc = raw_client("ecs", EAST).describe_services(cluster="checkout", services=["web"])["services"][0]
    targets = raw_client("application-autoscaling", EAST).describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[ECS_RESOURCE]
    )["ScalableTargets"]
    bounds = (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else (None, None)
    return {"desired": svc["desiredCount"], "running": svc["runningCount"], "bounds": bounds}


def seed_asg_capacity(*, desired: int, max_size: int, policy: bool) -> str:
    """Group ``checkout-asg`` with ``desired`` InService instances and, if asked, a scaling policy."""
    name = seed.seed_asg(EAST, versions=1)
    autoscaling = raw_client("autoscaling", EAST)
    autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=1, MaxSize=max_size, DesiredCapacity=desired
    )
    if policy:
        autoscaling.put_scaling_policy(
            AutoScalingGroupName=name,
            PolicyName="cpu",
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                "TargetValue": 50.0,
            },
        )
    return name


def observe_asg(name: str) -> JsonDict:
    group = raw_client("autoscaling", EAST).describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]
    serving = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
    return {
        "desired": group["DesiredCapacity"],
        "min": group["MinSize"],
        "max": group["MaxSize"],
        "in_service": len(serving),
    }


def seed_stage(*, rate: float | None = None, burst: int | None = None) -> ApiGatewayStage:
    """REST API ``checkout-api`` with stage ``prod``, stage-wide throttling set only if given."""
    apigw = raw_client("apigateway", EAST)
    api = apigw.create_rest_api(name="checkout-api")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigw.create_deployment(restApiId=api)["id"]
    apigw.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
    if rate is not None and burst is not None:
        set_stage_throttling(api, rate, burst)
    return ApiGatewayStage(rest_api=api, stage="prod", emergency_rate=50, emergency_burst=20)


def set_stage_throttling(api: str, rate: float, burst: int) -> None:
    ops: Any = [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
    ]
    raw_client("apigateway", EAST).update_stage(restApiId=api, stageName="prod", patchOperations=ops)


def observe_stage(api: str) -> JsonDict:
    """The stage-wide limits as AWS returns them (-1 or absent: not set)."""
    stage = raw_client("apigateway", EAST).get_stage(restApiId=api, stageName="prod")
    settings = (stage.get("methodSettings") or {}).get("*/*", {})
    rate, burst = settings.get("throttlingRateLimit", -1), settings.get("throttlingBurstLimit", -1)
    return {"rate_limit": None if rate < 0 else rate, "burst_limit": None if burst < 0 else burst}


def seed_ssm_breaker(value: str = "off") -> tuple[FlagStore, dict[str, Dependency]]:
    """Flag ``payments-breaker`` (on value ``true``) guarding dependency ``payments``."""
    raw_client("ssm", EAST).put_parameter(Name=BREAKER_PARAMETER, Value=value, Type="String")
    store = FlagStore(
        kind=FlagStoreKind.SSM,
        region=EAST,
        flags={"payments-breaker": BREAKER_PARAMETER},
        on_values={"payments-breaker": "true"},
    )
    return store, {"payments": Dependency(alarm="payments-down", breaker_flag="payments-breaker")}


def maintenance_rules(listener_arn: str) -> list[dict[str, Any]]:
    """The listener's non-default rules, each with its tags."""
    elbv2 = raw_client("elbv2", EAST)
    rules = [r for r in elbv2.describe_rules(ListenerArn=listener_arn)["Rules"] if not r["IsDefault"]]
    if not rules:
        return []
    tags = {
        d["ResourceArn"]: d["Tags"]
        for d in elbv2.describe_tags(ResourceArns=[r["RuleArn"] for r in rules])["TagDescriptions"]
    }
    return [{**r, "Tags": tags[r["RuleArn"]]} for r in rules]


def observe_maintenance(listener_arn: str) -> JsonDict:
    tag = {"Key": "firebreak:maintenance", "Value": "checkout/prod"}
    return {"enabled": any(tag in r["Tags"] for r in maintenance_rules(listener_arn))}
