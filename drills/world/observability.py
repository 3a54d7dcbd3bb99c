"""Log groups (with the simulator's stream) and a CloudWatch alarm per catalogued alarm name,
the service's dependencies' alarms included (on the dependency's health metric).

An alarm watches one of the region's signal metrics: the one whose ``name`` or ``metric_name``
its name contains, else the signal metric at the same position. It breaches on the unhealthy
side of the metric's threshold, over the metric's own period, two datapoints out of three
(:data:`EVALUATION_PERIODS`, :data:`DATAPOINTS_TO_ALARM`), and treats missing data as missing
(as breaching in a `total_outage` drill's region: an alarm that fires on silence).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from drills.seed_region import deployer_client
from drills.world.errors import WorldError
from drills.world.names import LOG_STREAM
from tasks.aws import AwsTarget
from tasks.catalog import Comparison, Dependency, MetricRole, MetricSpec, RegionResources

EVALUATION_PERIODS = 3
DATAPOINTS_TO_ALARM = 2
OPERATORS = {
    Comparison.BELOW: "GreaterThanOrEqualToThreshold",
    Comparison.ABOVE: "LessThanOrEqualToThreshold",
}


def create_log_groups(target: AwsTarget, groups: list[str]) -> None:
    logs = deployer_client("logs", target)
    for group in groups:
        try:  # services of one region may share a group
            logs.create_log_group(logGroupName=group)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            continue
        logs.put_retention_policy(logGroupName=group, retentionInDays=14)
        logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)


def alarm_metrics(resources: RegionResources, field: str) -> dict[str, MetricSpec]:
    """alarm name -> the signal metric it watches (pure)."""
    signals = [m for m in resources.metrics if m.role is MetricRole.SIGNAL]
    paired: dict[str, MetricSpec] = {}
    for i, alarm in enumerate(resources.alarms):
        key = _normal(alarm)
        named = [m for m in signals if _normal(m.metric_name) in key or _normal(m.name) in key]
        if named:
            paired[alarm] = named[0]
        elif i < len(signals):
            paired[alarm] = signals[i]
        else:
            raise WorldError(
                f"{field}.alarms.{i}",
                f"alarm {alarm!r} watches no signal metric (name one of "
                f"{[m.name for m in signals]} in it, or list as many signal metrics as alarms)",
            )
    return paired


def create_alarms(
    target: AwsTarget,
    resources: RegionResources,
    *,
    description: str,
    field: str,
    treat_missing_data: str = "missing",
) -> None:
    """The region's alarms; ``treat_missing_data="breaching"`` for a region whose outage is
    total (an alarm that fires on silence, as production alarms for such a failure are built)."""
    for alarm, spec in alarm_metrics(resources, field).items():
        _put_alarm(target, alarm, spec, f"{description} {spec.name} in {target.region}", treat_missing_data)


def create_dependency_alarms(target: AwsTarget, dependencies: dict[str, Dependency], *, field: str) -> None:
    """Each dependency's ``alarm`` on its ``metric`` (the simulator publishes that metric in
    every region of the service, so an alarm without one could never be evaluated)."""
    for name, dependency in dependencies.items():
        if dependency.alarm is None:
            continue
        if dependency.metric is None:
            raise WorldError(
                f"{field}.{name}.alarm",
                "a drill world evaluates alarms from the metric it publishes: give the dependency a metric",
            )
        _put_alarm(target, dependency.alarm, dependency.metric, f"dependency {name} in {target.region}")


def _put_alarm(
    target: AwsTarget, alarm: str, spec: MetricSpec, description: str, treat_missing_data: str = "missing"
) -> None:
    deployer_client("cloudwatch", target).put_metric_alarm(
        AlarmName=alarm,
        AlarmDescription=description,
        Namespace=spec.namespace,
        MetricName=spec.metric_name,
        Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
        Statistic=spec.statistic,
        Period=spec.period_seconds,
        EvaluationPeriods=EVALUATION_PERIODS,
        DatapointsToAlarm=DATAPOINTS_TO_ALARM,
        Threshold=spec.healthy_threshold,
        ComparisonOperator=OPERATORS[spec.healthy_when],
        TreatMissingData=treat_missing_data,
    )


def _normal(text: str) -> str:
    return text.lower().replace("-", "").replace("_", "")
