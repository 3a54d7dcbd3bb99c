"""Faults in a catalog world, injected by changing AWS state where the real fault would, by the
drill's deployer; or, for what lives outside AWS, as the simulator's state.

:func:`check_fault` says before anything starts whether the catalog can host a fault (a Lambda
fault for an ECS-only service cannot happen). Every injection returns an ``InjectedFault``.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Any

from drills.faults import InjectedFault
from drills.seed_region import deployer_client, pricing_zip
from drills.world.compute import register_revision
from drills.world.names import BAD_VERSION, build_description, image
from tasks.aws import AwsTarget, call
from tasks.catalog import Catalog, FlagStoreKind, RegionResources, ServiceEnvironment
from tasks.flags_appconfig import NOT_LIVE, STRATEGY

NOISE_VERSION = "1.0.1"  # a healthy release
STAGING_VERSION = "1.0.2"  # a healthy revision registered for staging, never deployed here


class WorldFaultKind(StrEnum):
    BAD_DEPLOY = "bad_deploy"
    BAD_LAMBDA = "bad_lambda"
    BAD_LAUNCH_TEMPLATE = "bad_launch_template"
    BAD_FLAG = "bad_flag"
    NOISE_DEPLOY = "noise_deploy"
    REGION_DEGRADED = "region_degraded"
    DEPENDENCY_DOWN = "dependency_down"
    TRAFFIC_SPIKE = "traffic_spike"
    STAGING_REVISION = "staging_revision"
    TOTAL_OUTAGE = "total_outage"


class FaultHostError(ValueError):
    """The catalog cannot host the fault (no such service, region, resource or flag)."""


NEEDS = {
    WorldFaultKind.BAD_DEPLOY: ("ecs", "ECS service"),
    WorldFaultKind.BAD_LAMBDA: ("lambda_alias", "Lambda alias"),
    WorldFaultKind.BAD_LAUNCH_TEMPLATE: ("asg_name", "Auto Scaling group"),
    WorldFaultKind.STAGING_REVISION: ("ecs", "ECS service"),
}


def check_fault(
    catalog: Catalog,
    kind: WorldFaultKind,
    *,
    service: str,
    environment: str,
    region: str | None = None,
    flag: str | None = None,
    dependency: str | None = None,
) -> None:
    """Raise FaultHostError unless ``catalog`` can host the fault as given (a dependency must
    be one the service's catalog entry declares)."""
    try:
        entry = catalog.entry(service, environment)
    except ValueError as e:
        raise FaultHostError(f"{kind.value}: {e}") from e
    if region is not None and region not in entry.regions:
        raise FaultHostError(
            f"{kind.value}: {service} does not run in {region} (regions: {sorted(entry.regions)})"
        )
    if kind in NEEDS:
        field, what = NEEDS[kind]
        where = [region] if region else list(entry.regions)
        if not any(getattr(entry.regions[r], field) for r in where):
            raise FaultHostError(f"{kind.value}: {service} has no {what} in {', '.join(where)}")
    if kind is WorldFaultKind.NOISE_DEPLOY and region and not _deployable(entry.regions[region]):
        raise FaultHostError(f"noise_deploy: {service} has nothing to deploy in {region}")
    if kind is WorldFaultKind.DEPENDENCY_DOWN and dependency not in entry.dependencies:
        raise FaultHostError(
            f"dependency_down: {service} has no dependency {dependency!r} "
            f"(catalog dependencies: {sorted(entry.dependencies)})"
        )
    if kind is WorldFaultKind.BAD_FLAG and (entry.flags is None or flag not in entry.flags.flags):
        known = sorted(entry.flags.flags) if entry.flags else []
        raise FaultHostError(f"bad_flag: {service} has no flag {flag!r} (flags: {known})")


def _deployable(res: RegionResources) -> bool:
    return res.ecs is not None or res.lambda_alias is not None


def deploy_ecs(target: AwsTarget, res: RegionResources, version: str) -> InjectedFault:
    """Roll the region's ECS service to a new revision running ``version`` of its image."""
    assert res.ecs is not None
    ecs = deployer_client("ecs", target)
    current = call(ecs, "describe_services", cluster=res.ecs.cluster, services=[res.ecs.service])["services"][
        0
    ]
    arn = register_revision(
        target, res.ecs, image(res.ecs.service, version), res.log_groups[0] if res.log_groups else None
    )
    call(
        ecs, "update_service", cluster=res.ecs.cluster, service=res.ecs.service, taskDefinition=arn,
        desiredCount=current["desiredCount"], forceNewDeployment=True,
    )  # fmt: skip
    return InjectedFault(
        kind="deploy", region=target.region, resource=f"{res.ecs.cluster}/{res.ecs.service}",
        before=current["taskDefinition"], after=arn,
    )  # fmt: skip


def deploy_lambda(target: AwsTarget, res: RegionResources, version: str) -> InjectedFault:
    """Publish a new build described ``<function> <version>`` and point the alias at it."""
    assert res.lambda_alias is not None
    live = res.lambda_alias
    lam = deployer_client("lambda", target)
    before = call(lam, "get_alias", FunctionName=live.function, Name=live.alias)["FunctionVersion"]
    call(lam, "update_function_code", FunctionName=live.function, ZipFile=pricing_zip(price=len(version)))
    published = call(
        lam,
        "publish_version",
        FunctionName=live.function,
        Description=build_description(live.function, version),
    )
    call(
        lam, "update_alias", FunctionName=live.function, Name=live.alias, FunctionVersion=published["Version"]
    )
    return InjectedFault(
        kind="deploy", region=target.region, resource=f"{live.function}:{live.alias}",
        before=str(before), after=str(published["Version"]),
    )  # fmt: skip


def bad_launch_template(target: AwsTarget, res: RegionResources) -> InjectedFault:
    """A new launch-template version (a bad build), the group switched to it, and an instance
    refresh that puts every instance on it (``drills.moto_gaps``)."""
    assert res.asg_name is not None
    autoscaling, ec2 = deployer_client("autoscaling", target), deployer_client("ec2", target)
    group = call(autoscaling, "describe_auto_scaling_groups", AutoScalingGroupNames=[res.asg_name])[
        "AutoScalingGroups"
    ][0]
    template = group["LaunchTemplate"]
    created = call(
        ec2, "create_launch_template_version", LaunchTemplateId=template["LaunchTemplateId"],
        SourceVersion=str(template["Version"]), VersionDescription=f"{res.asg_name} {BAD_VERSION}",
        LaunchTemplateData={},
    )["LaunchTemplateVersion"]  # fmt: skip
    version = str(created["VersionNumber"])
    call(
        autoscaling, "update_auto_scaling_group", AutoScalingGroupName=res.asg_name,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": version},
    )  # fmt: skip
    refresh = call(autoscaling, "start_instance_refresh", AutoScalingGroupName=res.asg_name)[
        "InstanceRefreshId"
    ]
    _wait_for_refresh(autoscaling, res.asg_name, refresh)
    return InjectedFault(
        kind="bad_launch_template", region=target.region, resource=res.asg_name,
        before=str(template["Version"]), after=version,
    )  # fmt: skip


def _wait_for_refresh(autoscaling: Any, group: str, refresh: str, timeout: float = 30.0) -> None:
    """Wait as the deploy pipeline would until every instance runs the new version."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = call(
            autoscaling,
            "describe_instance_refreshes",
            AutoScalingGroupName=group,
            InstanceRefreshIds=[refresh],
        )["InstanceRefreshes"]
        if found and found[0]["Status"] == "Successful":
            return
        time.sleep(0.2)
    raise TimeoutError(f"instance refresh {refresh} of {group} did not finish within {timeout:.0f}s")


def flag_on(target: AwsTarget, entry: ServiceEnvironment, flag: str) -> InjectedFault:
    """Switch ``flag`` on where the catalog keeps it: a new SSM parameter version, or a new
    hosted AppConfig version deployed to the environment."""
    store = entry.flags
    assert store is not None
    regional = target.in_region(store.region)
    key = store.flags[flag]
    if store.kind is FlagStoreKind.SSM:
        ssm = deployer_client("ssm", regional)
        before = call(ssm, "get_parameter", Name=key)["Parameter"]["Value"]
        call(ssm, "put_parameter", Name=key, Value="on", Type="String", Overwrite=True)
        return InjectedFault(kind="bad_flag", region=store.region, resource=key, before=before, after="on")
    appconfig = deployer_client("appconfig", regional)
    ids = {"ApplicationId": store.appconfig_application}
    items = call(appconfig, "list_deployments", EnvironmentId=store.appconfig_environment, **ids)["Items"]
    live = max((i for i in items if i["State"] not in NOT_LIVE), key=lambda i: i["DeploymentNumber"])
    content = json.loads(
        call(
            appconfig, "get_hosted_configuration_version", ConfigurationProfileId=store.appconfig_profile,
            VersionNumber=int(live["ConfigurationVersion"]), **ids,
        )["Content"].read()
    )  # fmt: skip
    content["values"][key]["enabled"] = True
    version = call(
        appconfig, "create_hosted_configuration_version", ConfigurationProfileId=store.appconfig_profile,
        Content=json.dumps(content).encode(), ContentType="application/json", **ids,
    )["VersionNumber"]  # fmt: skip
    call(
        appconfig, "start_deployment", EnvironmentId=store.appconfig_environment,
        DeploymentStrategyId=STRATEGY, ConfigurationProfileId=store.appconfig_profile,
        ConfigurationVersion=str(version), **ids,
    )  # fmt: skip
    return InjectedFault(kind="bad_flag", region=store.region, resource=key, before="off", after="on")


def noise_deploy(target: AwsTarget, res: RegionResources) -> InjectedFault:
    """A harmless release in a healthy region: a coincidence the diagnosis must not blame."""
    return (
        deploy_ecs(target, res, NOISE_VERSION)
        if res.ecs is not None
        else deploy_lambda(target, res, NOISE_VERSION)
    )


def staging_revision(target: AwsTarget, res: RegionResources) -> InjectedFault:
    """A newer, healthy task-definition revision registered and never deployed: "the revision
    before the current one" is then not what served before the bad deploy."""
    assert res.ecs is not None
    log_group = res.log_groups[0] if res.log_groups else None
    arn = register_revision(target, res.ecs, image(res.ecs.service, STAGING_VERSION), log_group)
    return InjectedFault(
        kind="staging_revision", region=target.region, resource=res.ecs.service, before="", after=arn
    )


def bad_deploy(target: AwsTarget, res: RegionResources) -> InjectedFault:
    return deploy_ecs(target, res, BAD_VERSION)


def bad_lambda(target: AwsTarget, res: RegionResources) -> InjectedFault:
    return deploy_lambda(target, res, BAD_VERSION)
