"""Seeding: the catalog describes exactly what exists in the sandbox, read back from moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills import seed_names as n
from drills.sandbox import Sandbox
from drills.seed import write_catalog
from tasks.aws import client
from tasks.catalog import Catalog, load_catalog


def test_catalog_round_trips_through_yaml(catalog: Catalog, tmp_path: Path) -> None:
    path = write_catalog(catalog, tmp_path / "catalog.yaml")
    assert load_catalog(path) == catalog
    entry = catalog.entry(n.SERVICE, n.ENVIRONMENT)
    assert entry.primary_region == n.PRIMARY_REGION and set(entry.regions) == set(n.REGIONS)


@pytest.mark.parametrize("region", n.REGIONS)
def test_regional_resources_exist_as_catalogued(sandbox: Sandbox, catalog: Catalog, region: str) -> None:
    res = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region)
    target = sandbox.target(region)
    assert res.ecs is not None and res.alb is not None and res.lambda_alias is not None

    ecs = client("ecs", target)
    service = ecs.describe_services(cluster=res.ecs.cluster, services=[res.ecs.service])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert (definition["revision"], definition["containerDefinitions"][0]["image"]) == (1, n.GOOD_IMAGE)

    elbv2 = client("elbv2", target)
    listener = elbv2.describe_listeners(ListenerArns=[res.alb.listener_arn])["Listeners"][0]
    forward = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert [(g["TargetGroupArn"], g["Weight"]) for g in forward] == list(
        zip(res.alb.target_group_arns, [100, 0], strict=True)
    )
    blue_health = elbv2.describe_target_health(TargetGroupArn=res.alb.target_group_arns[0])
    assert len(blue_health["TargetHealthDescriptions"]) == 2  # the ASG's two hosts

    asg = client("autoscaling", target).describe_auto_scaling_groups(
        AutoScalingGroupNames=[res.asg_name or ""]
    )
    group = asg["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["Version"] == "1" and group["DesiredCapacity"] == 2

    lam = client("lambda", target)
    alias = lam.get_alias(FunctionName=res.lambda_alias.function, Name=res.lambda_alias.alias)
    version = lam.get_function_configuration(FunctionName=res.lambda_alias.function, Qualifier="1")
    assert alias["FunctionVersion"] == "1" and version["Description"] == n.GOOD_LAMBDA_DESCRIPTION

    groups = client("logs", target).describe_log_groups(logGroupNamePrefix=res.log_groups[0])["logGroups"]
    assert [g["logGroupName"] for g in groups] == res.log_groups

    alarms = client("cloudwatch", target).describe_alarms(AlarmNames=res.alarms)["MetricAlarms"]
    assert {a["AlarmName"] for a in alarms} == set(res.alarms)
    error_alarm = next(a for a in alarms if a["MetricName"] == n.ERROR_RATE)
    assert error_alarm["Threshold"] == 5.0
    assert error_alarm["Dimensions"] == [{"Name": "Region", "Value": region}]
    assert [m.name for m in res.metrics] == ["error_rate", "latency_p99", "requests"]


def test_global_resources_exist_as_catalogued(sandbox: Sandbox, catalog: Catalog) -> None:
    entry = catalog.entry(n.SERVICE, n.ENVIRONMENT)
    target = sandbox.target()
    assert entry.route53 is not None and entry.flags is not None and entry.sns_topic_arn is not None

    records = client("route53", target).list_resource_record_sets(HostedZoneId=entry.route53.zone_id)
    weighted = {
        r["SetIdentifier"]: r["Weight"] for r in records["ResourceRecordSets"] if "SetIdentifier" in r
    }
    assert (
        weighted == {region: 50 for region in n.REGIONS} == dict.fromkeys(entry.route53.set_identifiers, 50)
    )

    ssm = client("ssm", target)
    for flag, parameter in entry.flags.flags.items():
        labelled = ssm.get_parameter(Name=f"{parameter}:{n.KNOWN_GOOD_LABEL}")["Parameter"]
        assert labelled["Value"] == n.FLAG_DEFAULTS[flag]

    topic = client("sns", target).get_topic_attributes(TopicArn=entry.sns_topic_arn)
    assert topic["Attributes"]["TopicArn"] == entry.sns_topic_arn
    versioning = client("s3", target).get_bucket_versioning(Bucket=entry.evidence_bucket or "")
    assert versioning["Status"] == "Enabled"
