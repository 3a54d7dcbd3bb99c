"""CloudWatch "Alarm State Change" events delivered by EventBridge (a rule whose target is an
API destination pointing at the receiver, which posts the event unchanged).

Single-metric alarms name their metric in ``detail.configuration.metrics``; composite alarms
carry ``detail.configuration.alarmRule`` instead. Alarm tags, when tag propagation is on, arrive
as ``detail.alarmTags`` and become labels, as do the metric's dimensions, so routing can use
either.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from alerts.cloudwatch import alarm_fingerprint, alarm_status, api_statistic, not_an_incident
from alerts.models import Alert, AlertStatus, MetricRef
from alerts.payload import ParseResult, Payload, Timestamp, load_json, validate
from alerts.resolved import RESOLVED_AT

SOURCE = "eventbridge"
DETAIL_TYPE = "CloudWatch Alarm State Change"


class _Metric(Payload):
    namespace: str
    name: str
    dimensions: dict[str, str] = Field(default_factory=dict)


class _MetricStat(Payload):
    metric: _Metric
    stat: str = "Average"


class _MetricQuery(Payload):
    metric_stat: _MetricStat | None = Field(default=None, alias="metricStat")


class _Configuration(Payload):
    description: str | None = None
    metrics: list[_MetricQuery] = Field(default_factory=list)
    alarm_rule: str | None = Field(default=None, alias="alarmRule")


class _State(Payload):
    value: str
    reason: str = ""
    timestamp: Timestamp


class _Detail(Payload):
    alarm_name: str = Field(alias="alarmName", min_length=1)
    state: _State
    previous_state: _State | None = Field(default=None, alias="previousState")
    configuration: _Configuration = Field(default_factory=_Configuration)
    alarm_tags: dict[str, str] = Field(default_factory=dict, alias="alarmTags")


class AlarmEvent(Payload):
    """The EventBridge envelope around an alarm state change."""

    id: str
    detail_type: str = Field(alias="detail-type")
    account: str | None = None
    region: str | None = None
    resources: list[str] = Field(default_factory=list)
    detail: dict[str, Any]


def parse_eventbridge(body: bytes | str) -> ParseResult:
    """Normalise an alarm state-change event into at most one Alert."""
    data = load_json(body, SOURCE)
    event = validate(AlarmEvent, data, SOURCE)
    if event.detail_type != DETAIL_TYPE:
        return ParseResult(ignored=[f"EventBridge event {event.detail_type!r} is not an alarm state change"])
    detail = validate(_Detail, event.detail, SOURCE, "detail")
    previous = detail.previous_state.value if detail.previous_state else "UNKNOWN"
    status = alarm_status(detail.state.value)
    if status is None:
        return ParseResult(ignored=[not_an_incident(detail.alarm_name, previous, detail.state.value)])
    metric = _metric(detail.configuration)
    annotations = {"eventbridge_event_id": event.id}
    if detail.configuration.alarm_rule:
        annotations["alarm_rule"] = detail.configuration.alarm_rule
    if status is AlertStatus.RESOLVED:
        annotations[RESOLVED_AT] = detail.state.timestamp.isoformat()
    alert = Alert(
        source=SOURCE,
        fingerprint=alarm_fingerprint(
            event.resources[0] if event.resources else None, event.region, event.account, detail.alarm_name
        ),
        status=status,
        region=event.region,
        name=detail.alarm_name,
        summary=detail.state.reason or detail.configuration.description or "",
        metric=metric,
        labels={**(metric.dimensions if metric else {}), **detail.alarm_tags},
        annotations=annotations,
        starts_at=detail.state.timestamp,
        raw=data,
    )
    return ParseResult(alerts=[alert])


def _metric(configuration: _Configuration) -> MetricRef | None:
    stats = [q.metric_stat for q in configuration.metrics if q.metric_stat is not None]
    if len(stats) != 1:
        return None  # composite or metric-math alarm: no single metric to watch
    stat = stats[0]
    return MetricRef(
        namespace=stat.metric.namespace,
        name=stat.metric.name,
        dimensions=stat.metric.dimensions,
        statistic=api_statistic(stat.stat),
    )
