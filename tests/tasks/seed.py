"""Seed moto with the resources of one service and describe them in a matching catalog.

Each ``seed_*`` creates one mechanism (in the regions asked) and returns the catalog fragment
for it; :func:`catalog` assembles the fragments. Everything is named after ``checkout``/``prod``.
Call these inside moto (the ``aws`` fixture).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3

from tasks.catalog import (
    AlbListener,
    Catalog,
    Dependency,
    EcsService,
    FlagStore,
    FlagStoreKind,
    LambdaAlias,
    RegionResources,
    Route53Weighted,
    ServiceEnvironment,
)
from tests.faults import canned

SERVICE, ENV = "checkout", "prod"
EAST, WEST = "us-east-1", "us-west-2"
RECORD = "api.checkout.example.com"


@cache
def raw_client(service: str, region: str) -> Any:
    """A plain boto3 client for seeding and observing, independent of tasks.aws.

    Cached across tests (building one costs ~100 ms); moto intercepts its calls whenever a mock
    is active.
    """
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def catalog(
    regions: dict[str, RegionResources] | None = None,
    *,
    route53: Route53Weighted | None = None,
    flags: FlagStore | None = None,
    dependencies: dict[str, Dependency] | None = None,
) -> Catalog:
    """A catalog with the one service, in us-east-1 and us-west-2 unless told otherwise."""
    regions = regions or {EAST: RegionResources(), WEST: RegionResources()}
    entry = ServiceEnvironment(
        primary_region=EAST, regions=regions, route53=route53, flags=flags, dependencies=dependencies or {}
    )
    return Catalog(services={SERVICE: {ENV: entry}})


def seed_route53(weights: dict[str, int]) -> Route53Weighted:
    """A weighted CNAME per region with ``weights``."""
    r53 = raw_client("route53", EAST)
    zone = r53.create_hosted_zone(Name="checkout.example.com", CallerReference="seed")["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    changes: list[Any] = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": RECORD,
                "Type": "CNAME",
                "SetIdentifier": region,
                "Weight": weight,
                "TTL": 60,
                "ResourceRecords": [{"Value": f"lb.{region}.example.com"}],
            },
        }
        for region, weight in weights.items()
    ]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return Route53Weighted(zone_id=zone_id, record_name=RECORD, set_identifiers={r: r for r in weights})


def seed_alb(region: str, weights: dict[str, int]) -> AlbListener:
    """A load balancer whose listener forwards to target groups named after ``weights``' keys."""
    ec2 = raw_client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    elbv2 = raw_client("elbv2", region)
    lb = elbv2.create_load_balancer(Name="checkout", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    arns = {
        name: elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for name in weights
    }
    groups: Any = [{"TargetGroupArn": arns[n], "Weight": w} for n, w in weights.items()]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
    )["Listeners"][0]["ListenerArn"]
    return AlbListener(listener_arn=listener, target_group_arns=list(arns.values()))


def seed_lambda(region: str, versions: int, alias_version: str) -> LambdaAlias:
    """A function with ``versions`` published versions and alias ``live`` moved through each
    version up to ``alias_version`` (so CloudTrail holds the history a rollback reads)."""
    iam = raw_client("iam", region)
    try:
        role = iam.create_role(RoleName="checkout-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="checkout-fn")["Role"]["Arn"]
    fn = raw_client("lambda", region)
    fn.create_function(
        FunctionName="checkout-fn",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip(0)},
    )
    for n in range(1, versions + 1):
        fn.update_function_code(FunctionName="checkout-fn", ZipFile=_zip(n))
        fn.publish_version(FunctionName="checkout-fn")
    fn.create_alias(FunctionName="checkout-fn", Name="live", FunctionVersion="1")
    for n in range(2, int(alias_version) + 1):
        fn.update_alias(FunctionName="checkout-fn", Name="live", FunctionVersion=str(n))
    return LambdaAlias(function="checkout-fn", alias="live")


def seed_ssm_flag(value: str = "on") -> FlagStore:
    """Flag ``new-pricing`` as SSM parameter ``/checkout/flags/new-pricing``."""
    raw_client("ssm", EAST).put_parameter(Name="/checkout/flags/new-pricing", Value=value, Type="String")
    return FlagStore(
        kind=FlagStoreKind.SSM, region=EAST, flags={"new-pricing": "/checkout/flags/new-pricing"}
    )


def seed_ecs(region: str, revisions: int, *, deployed: list[int] | None = None) -> EcsService:
    """Cluster ``checkout``, service ``web`` deployed on each of ``deployed`` in turn (default:
    every one of the ``revisions`` task definitions), so it runs the last of them."""
    ecs = raw_client("ecs", region)
    ecs.create_cluster(clusterName="checkout")
    for n in range(1, revisions + 1):
        register_revision(region, n)
    first, *later = deployed or list(range(1, revisions + 1))
    ecs.create_service(
        cluster="checkout", serviceName="web", taskDefinition=f"checkout-web:{first}", desiredCount=2
    )
    for n in later:
        ecs.update_service(cluster="checkout", service="web", taskDefinition=f"checkout-web:{n}")
    return EcsService(cluster="checkout", service="web")


def register_revision(region: str, n: int) -> str:
    """Register revision ``n`` (the next one) of ``checkout-web``; its ARN."""
    return str(
        raw_client("ecs", region).register_task_definition(
            family="checkout-web",
            containerDefinitions=[{"name": "web", "image": f"checkout:{n}", "memory": 256}],
        )["taskDefinition"]["taskDefinitionArn"]
    )


def seed_asg(region: str, versions: int, *, instances: int = 0) -> str:
    """Group ``checkout-asg`` moved through each version of a launch template with ``versions``
    versions, so it launches the last; ``instances`` of them, launched on version 1."""
    ec2 = raw_client("ec2", region)
    template = ec2.create_launch_template(
        LaunchTemplateName="checkout",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    for n in range(2, versions + 1):
        ec2.create_launch_template_version(
            LaunchTemplateId=template,
            LaunchTemplateData={"ImageId": f"ami-{n:08x}", "InstanceType": "t3.micro"},
        )
    raw_client("autoscaling", region).create_auto_scaling_group(
        AutoScalingGroupName="checkout-asg",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=0,
        MaxSize=2,
        DesiredCapacity=instances,
        AvailabilityZones=[f"{region}a"],
    )
    for n in range(2, versions + 1):
        raw_client("autoscaling", region).update_auto_scaling_group(
            AutoScalingGroupName="checkout-asg",
            LaunchTemplate={"LaunchTemplateId": template, "Version": str(n)},
        )
    return "checkout-asg"


def _zip(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", f"def handler(event, context):\n    return {n}\n")
    return buf.getvalue()


class FakeAppConfigDeployments:
    """AppConfig environments and deployments, which moto lacks, answered from a list.

    ``StartDeployment`` appends a COMPLETE deployment; ``ListDeployments`` returns them newest
    first. Hosted configuration versions stay in moto, so content is still read back from it.
    """

    def __init__(self, profile_name: str) -> None:
        self.profile_name = profile_name
        self.items: list[dict[str, Any]] = []

    def deploy(self, version: int, state: str = "COMPLETE") -> None:
        self.items.append(
            {
                "DeploymentNumber": len(self.items) + 1,
                "ConfigurationName": self.profile_name,
                "ConfigurationVersion": str(version),
                "State": state,
            }
        )

    @contextmanager
    def serving(self, appconfig: Any) -> Iterator[None]:
        def start(params: dict[str, Any]) -> dict[str, Any]:
            self.deploy(int(params["ConfigurationVersion"]))
            return {**self.items[-1], "EnvironmentId": params["EnvironmentId"]}

        with (
            canned(appconfig, "appconfig.ListDeployments", lambda _: {"Items": self.items[::-1]}),
            canned(appconfig, "appconfig.StartDeployment", start),
        ):
            yield


def flag_content(enabled: bool) -> bytes:
    """A feature-flags document with flags ``new_pricing`` (= ``enabled``) and ``dark_mode`` (on)."""
    return json.dumps(
        {
            "version": "1",
            "flags": {"new_pricing": {"name": "new pricing"}, "dark_mode": {"name": "dark mode"}},
            "values": {"new_pricing": {"enabled": enabled}, "dark_mode": {"enabled": True}},
        }
    ).encode()


def seed_appconfig(enabled: bool = True) -> tuple[FlagStore, FakeAppConfigDeployments]:
    """Application + feature-flag profile with version 1 (``new_pricing`` = ``enabled``) deployed
    to ``env-prod``."""
    appconfig = raw_client("appconfig", EAST)
    app = appconfig.create_application(Name="checkout")["Id"]
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name="flags", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
    )["Id"]
    appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=flag_content(enabled),
        ContentType="application/json",
    )
    fake = FakeAppConfigDeployments("flags")
    fake.deploy(1)
    store = FlagStore(
        kind=FlagStoreKind.APPCONFIG,
        region=EAST,
        flags={"new-pricing": "new_pricing"},
        appconfig_application=app,
        appconfig_profile=profile,
        appconfig_environment="env-prod",
    )
    return store, fake
