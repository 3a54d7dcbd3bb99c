"""Seed moto with a small two-region ``checkout`` service and return its catalog.

eu-west-1 is the bad region: its error rate is high, its alarm is in ALARM, its logs hold
ERROR lines, its ECS service was just moved to task definition revision 2, its Lambda alias to
version 2, one of its two targets is stopped, and the ``new-pricing`` flag was flipped on then
off. us-east-1 is healthy and unchanged, and runs an ASG on launch template version 2.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog

BAD, GOOD = "eu-west-1", "us-east-1"
SERVICE, ENV = "checkout", "prod"
NAMESPACE = "Checkout"
LOG_GROUP = "/ecs/checkout"
FLAG_PARAM = "/checkout/prod/flags/new-pricing"
ERROR_RATES = {BAD: [0.4, 0.6, 12.0], GOOD: [0.3, 0.2, 0.5]}  # 3, 2 and 1 minutes ago
LATENCIES = {BAD: [0.2, 0.3, 0.9], GOOD: [0.1, 0.1, 0.1]}


@dataclass(frozen=True)
class Seeded:
    catalog: Catalog
    seeded_at: datetime
    target_group_arn: str
    running_instance: str
    stopped_instance: str


def seed(now: datetime | None = None) -> Seeded:
    """Create everything; must run inside an active ``mock_aws``."""
    at = now or datetime.now(UTC)
    for region in (BAD, GOOD):
        _metrics_and_alarm(region, at)
        _logs(region, at, errors=2 if region == BAD else 0)
        _ecs(region, deploy_revision_2=region == BAD)
    _lambda(BAD)
    _flags(BAD)
    tg_arn, listener_arn, running, stopped = _alb(BAD)
    _asg(GOOD)
    catalog = Catalog.model_validate(
        {"services": {SERVICE: {ENV: _entry(tg_arn, listener_arn)}}},
    )
    return Seeded(catalog, at, tg_arn, running, stopped)


def _entry(tg_arn: str, listener_arn: str) -> dict[str, object]:
    def region(name: str) -> dict[str, object]:
        res: dict[str, object] = {
            "ecs": {"cluster": "checkout", "service": "web"},
            "log_groups": [LOG_GROUP],
            "alarms": [f"checkout-5xx-{name}", "checkout-missing-alarm"],
            "metrics": [
                _spec("error_rate", "ErrorRate", name, 5.0),
                _spec("latency_p99", "Latency", name, 0.5),
            ],
        }
        if name == BAD:
            res |= {
                "lambda_alias": {"function": "checkout-pricing", "alias": "live"},
                "alb": {"listener_arn": listener_arn, "target_group_arns": [tg_arn]},
            }
        else:
            res["asg_name"] = "checkout-workers"
        return res

    return {
        "primary_region": BAD,
        "regions": {BAD: region(BAD), GOOD: region(GOOD)},
        "flags": {"region": BAD, "flags": {"new-pricing": FLAG_PARAM}},
    }


def _spec(name: str, metric: str, region: str, threshold: float) -> dict[str, object]:
    return {
        "name": name,
        "namespace": NAMESPACE,
        "metric_name": metric,
        "dimensions": {"Region": region},
        "statistic": "Average",
        "healthy_threshold": threshold,
    }


def _metrics_and_alarm(region: str, at: datetime) -> None:
    cw = client("cloudwatch", AwsTarget(region=region))
    for metric, values in (("ErrorRate", ERROR_RATES[region]), ("Latency", LATENCIES[region])):
        cw.put_metric_data(
            Namespace=NAMESPACE,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "Region", "Value": region}],
                    "Timestamp": at - timedelta(minutes=3 - i),
                    "Value": value,
                }
                for i, value in enumerate(values)
            ],
        )
    name = f"checkout-5xx-{region}"
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=NAMESPACE,
        MetricName="ErrorRate",
        Dimensions=[{"Name": "Region", "Value": region}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    state = "ALARM" if region == BAD else "OK"
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="seeded")


def _logs(region: str, at: datetime, *, errors: int) -> None:
    logs = client("logs", AwsTarget(region=region))
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="web/1")
    messages = ["INFO started", *[f"ERROR payment gateway timeout #{i}" for i in range(errors)], "INFO ok"]
    start = int((at - timedelta(minutes=2)).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="web/1",
        logEvents=[{"timestamp": start + i * 1000, "message": m} for i, m in enumerate(messages)],
    )


def _ecs(region: str, *, deploy_revision_2: bool) -> None:
    ecs = client("ecs", AwsTarget(region=region))
    ecs.create_cluster(clusterName="checkout")
    for image in ("checkout:1.0", "checkout:1.1"):
        ecs.register_task_definition(
            family="checkout-web", containerDefinitions=[{"name": "web", "image": image, "memory": 256}]
        )
    ecs.create_service(cluster="checkout", serviceName="web", taskDefinition="checkout-web:1", desiredCount=2)
    if deploy_revision_2:
        ecs.update_service(cluster="checkout", service="web", taskDefinition="checkout-web:2", desiredCount=2)


def _lambda(region: str) -> None:
    role = client("iam", AwsTarget(region=region)).create_role(
        RoleName="checkout-pricing", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    lam = client("lambda", AwsTarget(region=region))
    lam.create_function(
        FunctionName="checkout-pricing", Runtime="python3.11", Role=role, Handler="handler.handle",
        Code={"ZipFile": buf.getvalue()},
    )  # fmt: skip
    first = lam.publish_version(FunctionName="checkout-pricing")["Version"]
    lam.create_alias(FunctionName="checkout-pricing", Name="live", FunctionVersion=first)
    lam.update_function_code(FunctionName="checkout-pricing", ZipFile=buf.getvalue())
    second = lam.publish_version(FunctionName="checkout-pricing")["Version"]
    lam.update_alias(FunctionName="checkout-pricing", Name="live", FunctionVersion=second)


def _flags(region: str) -> None:
    ssm = client("ssm", AwsTarget(region=region))
    for value in ("off", "on", "on", "off"):
        ssm.put_parameter(Name=FLAG_PARAM, Value=value, Type="String", Overwrite=True)


def _alb(region: str) -> tuple[str, str, str, str]:
    ec2 = client("ec2", AwsTarget(region=region))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    elbv2 = client("elbv2", AwsTarget(region=region))
    lb = elbv2.create_load_balancer(Name="checkout", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="checkout-blue", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][
        0
    ]["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )["Listeners"][0]["ListenerArn"]
    instances = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, SubnetId=subnets[0])[
            "Instances"
        ]
    ]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 8080} for i in instances])
    ec2.stop_instances(InstanceIds=[instances[1]])
    return tg, listener, instances[0], instances[1]


def _asg(region: str) -> None:
    ec2 = client("ec2", AwsTarget(region=region))
    data = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    ec2.create_launch_template(LaunchTemplateName="checkout-workers", LaunchTemplateData=data)
    ec2.create_launch_template_version(
        LaunchTemplateName="checkout-workers", LaunchTemplateData=data | {"InstanceType": "t3.small"}
    )
    client("autoscaling", AwsTarget(region=region)).create_auto_scaling_group(
        AutoScalingGroupName="checkout-workers",
        LaunchTemplate={"LaunchTemplateName": "checkout-workers", "Version": "2"},
        MinSize=1, MaxSize=4, DesiredCapacity=2, AvailabilityZones=[f"{region}a"],
    )  # fmt: skip
