"""CloudWatch alarm state changes, whichever way they arrive (SNS or EventBridge).

Both deliveries of the same alarm transition get the same fingerprint (the alarm ARN) and the
same onset (the state change time), so an alarm wired to both starts one incident, not two.

State mapping: ALARM -> firing, OK -> resolved. INSUFFICIENT_DATA means CloudWatch cannot tell;
it is not an incident and not a recovery, so it yields no alert and is reported as ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from alerts.models import Alert, AlertStatus, MetricRef
from alerts.payload import ParseResult, Payload, Timestamp, validate
from alerts.regions import region_code, region_from_arn
from alerts.resolved import RESOLVED_AT

SOURCE = "cloudwatch"

_STATUS = {"ALARM": AlertStatus.FIRING, "OK": AlertStatus.RESOLVED}
_STATISTICS = {
    "AVERAGE": "Average",
    "SUM": "Sum",
    "MINIMUM": "Minimum",
    "MAXIMUM": "Maximum",
    "SAMPLE_COUNT": "SampleCount",
}


def alarm_status(state: str) -> AlertStatus | None:
    """firing for ALARM, resolved for OK, None for INSUFFICIENT_DATA (not an incident)."""
    return _STATUS.get(state)


def api_statistic(statistic: str) -> str:
    """CloudWatch's SNS messages write "SUM"; the API and MetricRef use "Sum". Percentiles pass."""
    return _STATISTICS.get(statistic.upper(), statistic)


def alarm_fingerprint(arn: str | None, region: str | None, account: str | None, name: str) -> str:
    """The alarm ARN, rebuilt from its parts for old messages that do not carry it."""
    return arn or f"arn:aws:cloudwatch:{region or 'unknown'}:{account or 'unknown'}:alarm:{name}"


def not_an_incident(name: str, old: str, new: str) -> str:
    """The ignored-reason for a transition that starts and resolves nothing."""
    return f"alarm {name!r} went {old} -> {new}: not an incident"


class _Dimension(Payload):
    name: str
    value: str


class _Trigger(Payload):
    metric_name: str | None = Field(default=None, alias="MetricName")
    namespace: str | None = Field(default=None, alias="Namespace")
    statistic: str | None = Field(default=None, alias="Statistic")
    extended_statistic: str | None = Field(default=None, alias="ExtendedStatistic")
    dimensions: list[_Dimension] = Field(default_factory=list, alias="Dimensions")
    threshold: float | None = Field(default=None, alias="Threshold")
    comparison: str | None = Field(default=None, alias="ComparisonOperator")


class AlarmMessage(Payload):
    """The JSON CloudWatch puts in an SNS notification's ``Message``."""

    name: str = Field(alias="AlarmName", min_length=1)
    description: str | None = Field(default=None, alias="AlarmDescription")
    account: str | None = Field(default=None, alias="AWSAccountId")
    arn: str | None = Field(default=None, alias="AlarmArn")
    new_state: str = Field(alias="NewStateValue")
    old_state: str = Field(default="UNKNOWN", alias="OldStateValue")
    reason: str = Field(default="", alias="NewStateReason")
    changed_at: Timestamp = Field(alias="StateChangeTime")
    region: str = Field(default="", alias="Region")
    trigger: _Trigger | None = Field(default=None, alias="Trigger")
    alarm_rule: str | None = Field(default=None, alias="AlarmRule")


def parse_alarm_message(data: Any, annotations: dict[str, str]) -> ParseResult:
    """Normalise a CloudWatch alarm message (already JSON-decoded) into at most one Alert."""
    message = validate(AlarmMessage, data, SOURCE, "Message")
    status = alarm_status(message.new_state)
    if status is None:
        return ParseResult(ignored=[not_an_incident(message.name, message.old_state, message.new_state)])
    region = region_from_arn(message.arn) or region_code(message.region)
    extra = {"alarm_rule": message.alarm_rule} if message.alarm_rule else {}
    if status is AlertStatus.RESOLVED:
        extra[RESOLVED_AT] = message.changed_at.isoformat()
    alert = Alert(
        source=SOURCE,
        fingerprint=alarm_fingerprint(message.arn, region, message.account, message.name),
        status=status,
        region=region,
        name=message.name,
        summary=message.reason or message.description or "",
        metric=_metric(message.trigger),
        labels={d.name: d.value for d in message.trigger.dimensions} if message.trigger else {},
        annotations={**annotations, **extra},
        starts_at=message.changed_at,
        raw=data,
    )
    return ParseResult(alerts=[alert])


def _metric(trigger: _Trigger | None) -> MetricRef | None:
    if trigger is None or not trigger.metric_name or not trigger.namespace:
        return None  # metric-math and composite alarms name no single metric
    return MetricRef(
        namespace=trigger.namespace,
        name=trigger.metric_name,
        dimensions={d.name: d.value for d in trigger.dimensions},
        statistic=api_statistic(trigger.extended_statistic or trigger.statistic or "Average"),
        threshold=trigger.threshold,
        comparison=trigger.comparison,
    )
