"""A drill world from a catalog: for each shipped catalog, every resource it names exists in the
sandbox afterwards (read back with plain boto3 clients), and the incident flow's snapshot of it
reads every source without an error; a catalog the sandbox cannot build names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest

from drills.sandbox import Sandbox
from drills.world import WorldError, seed_world
from drills.world.names import FLAG_OFF, is_bad
from tasks.catalog import Catalog, FlagStore, FlagStoreKind, RegionResources, ServiceEnvironment, load_catalog
from tasks.snapshot import take_snapshot

CATALOGS = sorted(Path(__file__).parents[2].joinpath("drills", "catalogs").glob("*.yaml"))


@cache
def _raw(service: str, region: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)  # type: ignore[call-overload]


@pytest.fixture(params=CATALOGS, ids=[p.stem for p in CATALOGS])
def world(request: pytest.FixtureRequest, sandbox: Sandbox) -> Catalog:
    sandbox.reset()
    return seed_world(load_catalog(request.param), sandbox.endpoint_url)


def _entries(catalog: Catalog) -> list[tuple[str, str, ServiceEnvironment]]:
    return [(s, e, entry) for s, envs in catalog.services.items() for e, entry in envs.items()]


def _check_region(res: RegionResources, region: str, url: str) -> None:
    if res.ecs is not None:
        ecs = _raw("ecs", region, url)
        service = ecs.describe_services(cluster=res.ecs.cluster, services=[res.ecs.service])["services"][0]
        image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
            "containerDefinitions"
        ][0]["image"]
        assert service["desiredCount"] == 2 and not is_bad(image)
    if res.lambda_alias is not None:
        lam = _raw("lambda", region, url)
        alias = lam.get_alias(FunctionName=res.lambda_alias.function, Name=res.lambda_alias.alias)
        built = lam.get_function_configuration(FunctionName=res.lambda_alias.function, Qualifier="1")
        assert alias["FunctionVersion"] == "1" and not is_bad(built["Description"])
    if res.alb is not None:
        elbv2 = _raw("elbv2", region, url)
        listener = elbv2.describe_listeners(ListenerArns=[res.alb.listener_arn])["Listeners"][0]
        forward = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
        assert listener["Port"] == res.alb.port
        assert [(g["TargetGroupArn"], g["Weight"]) for g in forward] == list(
            zip(res.alb.target_group_arns, [100] + [0] * (len(forward) - 1), strict=True)
        )
        live = elbv2.describe_target_health(TargetGroupArn=res.alb.target_group_arns[0])[
            "TargetHealthDescriptions"
        ]
        if res.asg_name is not None or res.ecs is None:  # instances, or the Lambda alias
            assert live and {t["TargetHealth"]["State"] for t in live} == {"healthy"}
        else:  # ECS alone: moto runs no tasks to register; the service names its group
            service = _raw("ecs", region, url).describe_services(
                cluster=res.ecs.cluster, services=[res.ecs.service]
            )
            groups = [lb["targetGroupArn"] for lb in service["services"][0]["loadBalancers"]]
            assert groups == res.alb.target_group_arns[:1]
    if res.asg_name is not None:
        groups = _raw("autoscaling", region, url).describe_auto_scaling_groups(
            AutoScalingGroupNames=[res.asg_name]
        )
        assert groups["AutoScalingGroups"][0]["LaunchTemplate"]["Version"] == "1"
    logs = _raw("logs", region, url)
    for group in res.log_groups:
        assert [
            g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        ] == [group]
    alarms = _raw("cloudwatch", region, url).describe_alarms(AlarmNames=res.alarms)["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(res.alarms)
    signals = {(m.namespace, m.metric_name) for m in res.metrics}
    assert all((a["Namespace"], a["MetricName"]) in signals for a in alarms)
    if res.ecs is not None and res.capacity is not None:
        targets = _raw("application-autoscaling", region, url).describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/{res.ecs.cluster}/{res.ecs.service}"]
        )["ScalableTargets"]
        assert [t["MaxCapacity"] for t in targets] == [res.capacity.max]
    if res.api_gateway is not None:
        stage = _raw("apigateway", region, url).get_stage(
            restApiId=res.api_gateway.rest_api, stageName=res.api_gateway.stage
        )
        assert stage["stageName"] == res.api_gateway.stage


def _flag_values(store: FlagStore, url: str) -> dict[str, str]:
    if store.kind is FlagStoreKind.SSM:
        ssm = _raw("ssm", store.region, url)
        found = ssm.get_parameters(Names=list(store.flags.values()))["Parameters"]
        return {p["Name"]: p["Value"] for p in found}
    appconfig = _raw("appconfig", store.region, url)
    ids = {"ApplicationId": store.appconfig_application}
    deployed = appconfig.list_deployments(EnvironmentId=store.appconfig_environment, **ids)["Items"]
    content = appconfig.get_hosted_configuration_version(
        ConfigurationProfileId=store.appconfig_profile,
        VersionNumber=int(deployed[0]["ConfigurationVersion"]),
        **ids,
    )["Content"]
    values = json.loads(content.read())["values"]
    return {key: "on" if values[key]["enabled"] else "off" for key in values}


def test_every_catalogued_resource_exists(world: Catalog, sandbox: Sandbox) -> None:
    url = sandbox.endpoint_url
    for _, _, entry in _entries(world):
        for region, res in entry.regions.items():
            _check_region(res, region, url)
            wanted = sorted(d.alarm for d in entry.dependencies.values() if d.alarm)
            if wanted:  # (no names: DescribeAlarms lists every alarm)
                found = _raw("cloudwatch", region, url).describe_alarms(AlarmNames=wanted)["MetricAlarms"]
                assert sorted(a["AlarmName"] for a in found) == wanted
        if entry.route53 is not None:
            records = _raw("route53", entry.primary_region, url).list_resource_record_sets(
                HostedZoneId=entry.route53.zone_id
            )["ResourceRecordSets"]
            weights = {r["SetIdentifier"]: r["Weight"] for r in records if "SetIdentifier" in r}
            assert weights == dict.fromkeys(entry.route53.set_identifiers.values(), 100)
        if entry.flags is not None:
            assert _flag_values(entry.flags, url) == dict.fromkeys(entry.flags.flags.values(), FLAG_OFF)
        if entry.sns_topic_arn is not None:
            region = entry.sns_topic_arn.split(":")[3]
            _raw("sns", region, url).get_topic_attributes(TopicArn=entry.sns_topic_arn)
        if entry.evidence_bucket is not None:
            versioning = _raw("s3", entry.primary_region, url).get_bucket_versioning(
                Bucket=entry.evidence_bucket
            )
            assert versioning["Status"] == "Enabled"


def test_the_incident_snapshot_reads_every_source(world: Catalog, sandbox: Sandbox) -> None:
    for service, env, _entry in _entries(world):
        bundle = take_snapshot(
            catalog=world, service=service, environment=env, onset=datetime.now(UTC), aws=sandbox.target()
        )
        errors = [(e.source, e.error) for e in bundle.source_errors]
        assert errors == [], (service, env, errors)  # AppConfig flag history included


def _minimal(**region: Any) -> Catalog:
    return Catalog.model_validate(
        {"services": {"s": {"prod": {"primary_region": "eu-west-1", "regions": {"eu-west-1": region}}}}}
    )


def test_a_listener_given_by_arn_cannot_be_built(sandbox: Sandbox) -> None:
    sandbox.reset()
    catalog = _minimal(
        alb={"listener_arn": "arn:aws:elasticloadbalancing:x", "target_group_arns": ["arn:tg"]}
    )
    with pytest.raises(WorldError) as caught:
        seed_world(catalog, sandbox.endpoint_url)
    assert caught.value.field == "services.s.prod.regions.eu-west-1.alb.listener_arn"


def test_an_alarm_without_a_metric_is_named(sandbox: Sandbox) -> None:
    sandbox.reset()
    with pytest.raises(
        WorldError, match=r"regions\.eu-west-1\.alarms\.0: alarm 's-errors' watches no signal"
    ):
        seed_world(_minimal(alarms=["s-errors"]), sandbox.endpoint_url)
