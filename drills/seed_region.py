"""Seed one region of the ``checkout`` service: what a regional stack of a real service holds.

ECS service on a known-good task definition, the pricing Lambda behind a ``live`` alias, an
ALB with blue/green target groups (blue 100, green 0: green is empty, as between deploys), the
ASG that provides the container hosts, the log group, and alarms on the key metrics.

Production is built by the drill's deployer (:func:`deployer_client`), not by Firebreak: the
sandbox's CloudTrail records who made each change, and Firebreak never blames its own.
"""

from __future__ import annotations

import io
import zipfile
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from drills import seed_names as n
from tasks.aws import AwsTarget
from tasks.catalog import (
    AlbListener,
    Comparison,
    EcsService,
    LambdaAlias,
    MetricRole,
    MetricSpec,
    RegionResources,
)

AMI = "ami-12c6146b"  # one of moto's built-in AMIs; real AMIs do not exist in the sandbox
DEPLOYER_ACCESS_KEY = "AKIADRILLDEPLOYER001"  # 20 upper-case characters: moto reads it from the signature


def deployer_client(service: str, target: AwsTarget) -> Any:
    """A client of the drill's deployer at the sandbox ``target`` points to (not Firebreak's:
    another access key, botocore's plain User-Agent)."""
    endpoint = target.resolved_endpoint()
    if endpoint is None:
        raise ValueError("the deployer works in the sandbox only: the target has no endpoint")
    return _deployer_client(service, target.region, endpoint)


@cache
def _deployer_client(service: str, region: str, endpoint: str) -> Any:
    session = boto3.Session(
        aws_access_key_id=DEPLOYER_ACCESS_KEY, aws_secret_access_key="deployer", region_name=region
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def seed_region(target: AwsTarget, role_arn: str) -> RegionResources:
    """Create the regional stack in ``target.region`` and describe it for the catalog."""
    subnets, vpc_id = create_network(target)
    blue, green, listener = _alb(target, subnets, vpc_id)
    _asg(target, subnets, blue)
    _ecs(target, blue)
    _lambda(target, role_arn)
    _logs(target)
    metrics = key_metrics(target.region)
    alarms = [_alarm(target, spec) for spec in metrics if spec.metric_name != n.REQUESTS]
    return RegionResources(
        ecs=EcsService(cluster=n.CLUSTER, service=n.ECS_SERVICE),
        lambda_alias=LambdaAlias(function=n.LAMBDA_FUNCTION, alias=n.LAMBDA_ALIAS),
        alb=AlbListener(listener_arn=listener, target_group_arns=[blue, green]),
        asg_name=n.ASG,
        log_groups=[n.LOG_GROUP],
        alarms=alarms,
        metrics=metrics,
    )


def key_metrics(region: str) -> list[MetricSpec]:
    """The region's key metrics, error rate first (the flows' default signal)."""
    dims = {n.REGION_DIMENSION: region}
    common: dict[str, Any] = {
        "namespace": n.NAMESPACE,
        "dimensions": dims,
        "statistic": "Average",
        "period_seconds": n.METRIC_PERIOD_SECONDS,
    }
    return [
        MetricSpec(name="error_rate", metric_name=n.ERROR_RATE, healthy_threshold=5.0, **common),
        MetricSpec(name="latency_p99", metric_name=n.LATENCY_P99, healthy_threshold=800.0, **common),
        MetricSpec(
            name="requests",
            metric_name=n.REQUESTS,
            healthy_threshold=0.0,
            healthy_when=Comparison.ABOVE,
            role=MetricRole.TRAFFIC,
            **common,
        ),
    ]


def create_network(target: AwsTarget) -> tuple[list[str], str]:
    """A VPC and a subnet in each of the region's first two availability zones: (subnets, vpc)."""
    ec2 = deployer_client("ec2", target)
    vpc_id: str = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{target.region}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return subnets, vpc_id


def _alb(target: AwsTarget, subnets: list[str], vpc_id: str) -> tuple[str, str, str]:
    elbv2 = deployer_client("elbv2", target)
    lb_arn = elbv2.create_load_balancer(Name=n.ALB, Subnets=subnets, Type="application")["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    blue, green = (
        elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=n.CONTAINER_PORT, VpcId=vpc_id, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
        for name in (n.BLUE_TARGET_GROUP, n.GREEN_TARGET_GROUP)
    )
    forward = {
        "TargetGroups": [{"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]
    }
    listener = elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "ForwardConfig": forward}],
    )["Listeners"][0]["ListenerArn"]
    return blue, green, listener


def _asg(target: AwsTarget, subnets: list[str], blue: str) -> None:
    ec2 = deployer_client("ec2", target)
    ec2.create_launch_template(
        LaunchTemplateName=n.LAUNCH_TEMPLATE, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.medium"}
    )
    deployer_client("autoscaling", target).create_auto_scaling_group(
        AutoScalingGroupName=n.ASG,
        LaunchTemplate={"LaunchTemplateName": n.LAUNCH_TEMPLATE, "Version": "1"},
        MinSize=2,
        MaxSize=4,
        DesiredCapacity=2,
        VPCZoneIdentifier=",".join(subnets),
        TargetGroupARNs=[blue],
    )


def _ecs(target: AwsTarget, blue: str) -> None:
    ecs = deployer_client("ecs", target)
    ecs.create_cluster(clusterName=n.CLUSTER)
    revision = register_task_definition(target, n.GOOD_IMAGE)
    ecs.create_service(
        cluster=n.CLUSTER,
        serviceName=n.ECS_SERVICE,
        taskDefinition=revision,
        desiredCount=2,
        loadBalancers=[
            {"targetGroupArn": blue, "containerName": n.CONTAINER, "containerPort": n.CONTAINER_PORT}
        ],
    )


def register_task_definition(target: AwsTarget, image: str, *, ecs: Any = None) -> str:
    """Register a new revision of the checkout task definition running ``image``; its ARN.

    ``ecs``: the client to register with (default: the deployer's for ``target``).
    """
    container = {
        "name": n.CONTAINER,
        "image": image,
        "memory": 512,
        "portMappings": [{"containerPort": n.CONTAINER_PORT}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": n.LOG_GROUP, "awslogs-region": target.region},
        },
    }
    task_definition = (ecs or deployer_client("ecs", target)).register_task_definition(
        family=n.TASK_FAMILY, containerDefinitions=[container]
    )["taskDefinition"]
    return str(task_definition["taskDefinitionArn"])


def _lambda(target: AwsTarget, role_arn: str) -> None:
    lam = deployer_client("lambda", target)
    lam.create_function(
        FunctionName=n.LAMBDA_FUNCTION,
        Runtime="python3.12",
        Role=role_arn,
        Handler="pricing.handler",
        Code={"ZipFile": pricing_zip(price=42)},
    )
    version = lam.publish_version(FunctionName=n.LAMBDA_FUNCTION, Description=n.GOOD_LAMBDA_DESCRIPTION)
    lam.create_alias(FunctionName=n.LAMBDA_FUNCTION, Name=n.LAMBDA_ALIAS, FunctionVersion=version["Version"])


def pricing_zip(*, price: int) -> bytes:
    """The pricing function's deployment package; a new ``price`` makes a new build."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pricing.py", f"def handler(event, context):\n    return {{'price': {price}}}\n")
    return buffer.getvalue()


def _logs(target: AwsTarget) -> None:
    logs = deployer_client("logs", target)
    logs.create_log_group(logGroupName=n.LOG_GROUP)
    logs.put_retention_policy(logGroupName=n.LOG_GROUP, retentionInDays=14)
    logs.create_log_stream(logGroupName=n.LOG_GROUP, logStreamName=n.LOG_STREAM)


def _alarm(target: AwsTarget, spec: MetricSpec) -> str:
    name = n.alarm_name(target.region, spec.metric_name)
    deployer_client("cloudwatch", target).put_metric_alarm(
        AlarmName=name,
        AlarmDescription=f"{n.SERVICE} {n.ENVIRONMENT} {spec.name} in {target.region}",
        Namespace=spec.namespace,
        MetricName=spec.metric_name,
        Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
        Statistic="Average",
        Period=10,  # high-resolution alarm period; moto never evaluates it (the simulator sets state)
        EvaluationPeriods=1,
        Threshold=spec.healthy_threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
    )
    return name
