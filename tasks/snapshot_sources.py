"""Observability sources of a snapshot: metrics, alarms, error logs, target health, CloudTrail.

Each source reads one kind of evidence in one region and returns a :class:`Found`; the
snapshot runs them concurrently and merges what they found. A source raises on any failure
(the snapshot records it as a source error): it never returns half-read data as if complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from tasks.aws import AwsTarget, aws_retry, call, client
from tasks.catalog import RegionResources
from tasks.deploy_history import ReleaseKey, asg_key, ecs_key, lambda_key, releases
from tasks.evidence import (
    MIN_BASELINE_POINTS,
    AsgState,
    ChangeEvent,
    Datapoint,
    DependencyHealth,
    EcsState,
    LambdaState,
    LogLine,
    TargetHealth,
    TrafficBaseline,
    WriteEvent,
)
from tasks.metrics import alarm_states, read_metric, read_metrics

LOG_ERROR_PATTERN = "ERROR"  # moto implements plain terms only, not "?ERROR ?Exception"
MAX_LOG_LINES_PER_GROUP = 20
MAX_LOG_PAGES = 5  # filter_log_events can return empty pages with a token: bound the walk
MAX_MESSAGE_CHARS = 1000
MAX_CLOUDTRAIL_EVENTS = 50  # one LookupEvents page; the API allows 2 calls/s per region
BASELINE = timedelta(hours=1)  # the traffic baseline is the median of the hour before onset


class SnapshotSourceError(RuntimeError):
    """A source found the catalog and AWS disagree (e.g. a catalogued resource is missing)."""


@dataclass(frozen=True)
class Window:
    """The time range a snapshot reads: ``onset - lookback`` to the moment of collection."""

    start: datetime
    end: datetime
    onset: datetime | None = None  # the traffic baseline is read before it

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


@dataclass(frozen=True)
class Found:
    """What one source found; None fields were not this source's to fill."""

    metrics: dict[str, list[Datapoint]] | None = None
    alarms: dict[str, str] | None = None
    log_errors: list[LogLine] | None = None
    targets: list[TargetHealth] | None = None
    ecs: EcsState | None = None
    lambda_alias: LambdaState | None = None
    asg: AsgState | None = None
    baseline: TrafficBaseline | None = None
    dependencies: dict[str, DependencyHealth] | None = None
    changes: list[ChangeEvent] = field(default_factory=list)

    def region_fields(self) -> dict[str, Any]:
        """The non-empty ``RegionEvidence`` fields, ready to merge."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "changes" and getattr(self, f.name) is not None
        }


def metrics_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    return Found(metrics=read_metrics(res.metrics, aws=aws, start=window.start, end=window.end))


def baseline_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    """The traffic metric's median over the :data:`BASELINE` before onset (none without a traffic
    metric, or with fewer than ``MIN_BASELINE_POINTS`` datapoints: too few to call usual)."""
    spec = res.traffic_metric()
    if spec is None or window.onset is None:
        return Found()
    points = read_metric(spec, aws=aws, start=window.onset - BASELINE, end=window.onset)
    return Found(baseline=traffic_baseline(spec.name, points))


def traffic_baseline(metric: str, points: list[Datapoint]) -> TrafficBaseline | None:
    """The median of ``points``, or None when there are fewer than ``MIN_BASELINE_POINTS``."""
    if len(points) < MIN_BASELINE_POINTS:
        return None
    return TrafficBaseline(metric=metric, median=median(p.value for p in points), points=len(points))


def alarms_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    return Found(alarms=alarm_states(res.alarms, aws=aws) if res.alarms else {})


def logs_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    """The first error lines of each log group in the window, capped per group."""
    logs = client("logs", aws)
    lines: list[LogLine] = []
    for group in res.log_groups:
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "startTime": _epoch_ms(window.start),
            "endTime": _epoch_ms(window.end),
            "filterPattern": LOG_ERROR_PATTERN,
            "limit": MAX_LOG_LINES_PER_GROUP,
        }
        found: list[LogLine] = []
        for _ in range(MAX_LOG_PAGES):
            page = call(logs, "filter_log_events", **kwargs)
            found += [_log_line(group, event) for event in page.get("events", [])]
            if len(found) >= MAX_LOG_LINES_PER_GROUP or not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        lines += found[:MAX_LOG_LINES_PER_GROUP]
    return Found(log_errors=lines)


def targets_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    if res.alb is None:
        return Found()
    elbv2 = client("elbv2", aws)
    targets = []
    for arn in res.alb.target_group_arns:
        for desc in call(elbv2, "describe_target_health", TargetGroupArn=arn)["TargetHealthDescriptions"]:
            health = desc.get("TargetHealth", {})
            targets.append(
                TargetHealth(
                    target_group_arn=arn,
                    target_id=desc["Target"]["Id"],
                    port=desc["Target"].get("Port"),
                    state=health.get("State", "unknown"),
                    reason=health.get("Reason"),
                )
            )
    return Found(targets=targets)


def cloudtrail_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    """Write events in the window that name one of the service's catalogued resources, with who
    made them. Calls that set a release are left to the deploy sources (they report them as
    deploys, with the same call); calls made by an AWS service are left out."""
    page = _lookup_events(
        client("cloudtrail", aws),
        LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
        StartTime=window.start,
        EndTime=window.end,
        MaxResults=MAX_CLOUDTRAIL_EVENTS,
    )
    ours = _identifiers(res)
    keys = _release_keys(res)
    changes = []
    for event in page.get("Events", []):
        names = [r.get("ResourceName", "") for r in event.get("Resources", [])]
        touched = [n for n in names if _names_one_of(n, ours)]
        record = json.loads(event.get("CloudTrailEvent") or "{}")
        identity = record.get("userIdentity") or {}
        if not touched or identity.get("type") == "AWSService" or identity.get("invokedBy"):
            continue  # not ours, or made by an AWS service (auto scaling...), not by someone
        if any(releases([event], key) for key in keys):
            continue
        at = event["EventTime"].astimezone(UTC)
        name = event.get("EventName", "?")
        changes.append(
            ChangeEvent(
                kind="cloudtrail",
                region=aws.region,
                resource=touched[0],
                at=at,
                summary=f"{name} by {event.get('Username', 'unknown')}",
                write=WriteEvent(
                    event_name=name,
                    at=at,
                    resource=touched[0],
                    request_id=record.get("requestID") or "",
                    caller=identity.get("arn") or event.get("Username") or "unknown",
                    user_agent=record.get("userAgent") or "",
                ),
            )
        )
    return Found(changes=changes)


@aws_retry(attempts=2)
def _lookup_events(trail: Any, **kwargs: Any) -> dict[str, Any]:
    """One retry only: where LookupEvents is missing (moto server: HTTP 500) the default five
    attempts cost ~10 s per snapshot, and a CloudTrail gap is recorded, not waited out."""
    result: dict[str, Any] = trail.lookup_events(**kwargs)
    return result


def _release_keys(res: RegionResources) -> list[ReleaseKey]:
    keys = [ecs_key(res.ecs.cluster, res.ecs.service)] if res.ecs else []
    if res.lambda_alias:
        keys.append(lambda_key(res.lambda_alias.function, res.lambda_alias.alias))
    if res.asg_name:
        keys.append(asg_key(res.asg_name))
    return keys


def _identifiers(res: RegionResources) -> set[str]:
    ids = set(res.log_groups) | set(res.alarms)
    if res.ecs:
        ids |= {res.ecs.cluster, res.ecs.service}
    if res.lambda_alias:
        ids.add(res.lambda_alias.function)
    if res.alb:
        ids |= {res.alb.listener_arn, *res.alb.target_group_arns}
    if res.asg_name:
        ids.add(res.asg_name)
    return ids


def _names_one_of(name: str, identifiers: set[str]) -> bool:
    """True when ``name`` is one of ``identifiers`` or an ARN ending in one of them."""
    return name in identifiers or any(name.endswith((f"/{i}", f":{i}")) for i in identifiers)


def _log_line(group: str, event: dict[str, Any]) -> LogLine:
    return LogLine(
        group=group,
        stream=event.get("logStreamName", ""),
        at=datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC),
        message=event.get("message", "")[:MAX_MESSAGE_CHARS],
    )


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
