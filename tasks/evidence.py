"""The evidence bundle: what the diagnosis sees, the approver reads and the postmortem keeps.

A snapshot (``tasks.snapshot``) fills it from AWS; these models hold no client and make no
call, so diagnosis code and tests build and read bundles without AWS. A source that could not
be read appears in ``source_errors`` instead of silently leaving a gap: "no deploy found" and
"could not look for deploys" must never look the same.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tasks.catalog import MetricRole, MetricSpec
from tasks.evidence_markdown import render_summary

RECENT_PERIODS = 3  # traffic_rise: how many of the newest traffic datapoints are "now"
MIN_BASELINE_POINTS = 3  # fewer datapoints in the hour before onset: no baseline

ChangeKind = Literal["ecs.deploy", "lambda.alias", "flag", "asg.launch_template", "cloudtrail"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Datapoint(_Frozen):
    """One aggregated metric value for the period starting at ``at``."""

    at: AwareDatetime
    value: float


class ReleaseSource(StrEnum):
    """Where "what ran before" came from, in the order it is trusted (tasks.deploy_history)."""

    CLOUDTRAIL = "cloudtrail"
    DEPLOYMENTS = "deployments"
    SNAPSHOTS = "snapshots"


class PreviousRelease(_Frozen):
    """What ran before a change, and which record says so."""

    value: str = Field(description="Task definition, Lambda version or launch-template version.")
    source: ReleaseSource
    detail: str = Field(description="The record it is based on, for the plan and the approver.")


class WriteEvent(_Frozen):
    """A CloudTrail write event that set a release of a resource."""

    event_name: str
    at: AwareDatetime
    resource: str
    value: str = Field(default="", description="The release the call set ('' for other writes).")
    request_id: str
    caller: str = Field(description="userIdentity ARN (or user name) of who made the call.")
    user_agent: str = ""


class ChangeEvent(_Frozen):
    """Something that changed in the service: the usual suspect behind an incident."""

    kind: ChangeKind
    region: str
    resource: str = Field(description="ECS service, Lambda alias, flag parameter, ASG name...")
    at: AwareDatetime = Field(description="When the change took effect (best known time).")
    summary: str
    before: str | None = Field(default=None, description="What ran before (see before_source).")
    after: str | None = Field(default=None, description="The revision/version/value now live.")
    before_source: PreviousRelease | None = Field(
        default=None, description="For releases: the record ``before`` comes from."
    )
    history: str | None = Field(
        default=None, description="For releases without a known before: what the history showed."
    )
    write: WriteEvent | None = Field(
        default=None, description="The CloudTrail call that made the change, when known (who, request id)."
    )


class SourceError(_Frozen):
    """A source the snapshot could not read; the rest of the bundle is still valid."""

    source: str = Field(description="e.g. cloudtrail, ecs, cloudwatch.metrics")
    region: str
    error: str


class LogLine(_Frozen):
    group: str
    stream: str
    at: AwareDatetime
    message: str


class LogSignature(_Frozen):
    """Error log lines that say the same thing once numbers and ids are masked, and how many."""

    signature: str
    count: int
    example: str = Field(description="The first line with this signature, as logged.")


# Masked in this order: UUIDs, then hex ids of 8+ digits, then any remaining number.
_MASKS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)


def log_signature(message: str) -> str:
    """``message`` with UUIDs and hex ids masked as ``<id>`` and numbers as ``<n>``, whitespace
    collapsed, so that the same error from different requests groups together:
    ``timeout after 3000 ms (req 9f8e7d6c5b)`` -> ``timeout after <n> ms (req <id>)``."""
    text = " ".join(message.split())
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


def log_signatures(lines: list[LogLine]) -> list[LogSignature]:
    """The lines grouped by :func:`log_signature`, most frequent first (ties: first seen first)."""
    counts = Counter(log_signature(line.message) for line in lines)
    examples: dict[str, str] = {}
    for line in lines:
        examples.setdefault(log_signature(line.message), line.message)
    return [LogSignature(signature=s, count=n, example=examples[s]) for s, n in counts.most_common()]


class TrafficBaseline(_Frozen):
    """The traffic metric's usual level: the median of its datapoints in the hour before onset."""

    metric: str
    median: float
    points: int = Field(description="How many datapoints the median is of.")


class DependencyHealth(_Frozen):
    """One catalogued dependency as read in one region: its health metric and alarm, when known."""

    metric_value: float | None = None
    metric_healthy: bool | None = Field(default=None, description="None: no metric or no data.")
    alarm_state: str | None = Field(default=None, description="OK/ALARM/INSUFFICIENT_DATA; None: not found.")

    @property
    def unhealthy(self) -> bool:
        """True only on a known-bad reading: a metric beyond its threshold or an alarm in ALARM."""
        return self.metric_healthy is False or self.alarm_state == "ALARM"


class TargetHealth(_Frozen):
    target_group_arn: str
    target_id: str
    port: int | None = None
    state: str = Field(description="healthy, unhealthy, draining, unused, initial...")
    reason: str | None = None


class EcsDeployment(_Frozen):
    id: str
    status: str = Field(description="PRIMARY or ACTIVE")
    task_definition: str
    created_at: AwareDatetime | None = None
    rollout_state: str | None = None


class EcsState(_Frozen):
    cluster: str
    service: str
    task_definition: str = Field(description="The revision the service runs now.")
    previous_task_definition: str | None = Field(
        default=None, description="What ran before the current revision (tasks.deploy_history), if known."
    )
    desired: int
    running: int
    pending: int = 0
    deployments: list[EcsDeployment] = Field(default_factory=list)


class LambdaState(_Frozen):
    function: str
    alias: str
    version: str
    previous_version: str | None = None
    version_modified_at: AwareDatetime | None = None
    additional_weights: dict[str, float] = Field(default_factory=dict)


class AsgState(_Frozen):
    name: str
    launch_template: str | None = None
    launch_template_version: str | None = None
    desired: int
    min_size: int
    max_size: int
    instances: int
    healthy_in_service: int


class RegionEvidence(_Frozen):
    """Everything read in one region. Empty fields mean "not in the catalog" or "not read"
    (then ``EvidenceBundle.source_errors`` says which)."""

    region: str
    metric_specs: list[MetricSpec] = Field(default_factory=list)
    metrics: dict[str, list[Datapoint]] = Field(default_factory=dict, description="name -> ascending")
    alarms: dict[str, str] = Field(default_factory=dict, description="alarm name -> OK/ALARM/...")
    log_errors: list[LogLine] = Field(default_factory=list)
    targets: list[TargetHealth] = Field(default_factory=list)
    ecs: EcsState | None = None
    lambda_alias: LambdaState | None = None
    asg: AsgState | None = None
    baseline: TrafficBaseline | None = Field(default=None, description="Traffic before onset.")
    dependencies: dict[str, DependencyHealth] = Field(default_factory=dict, description="name -> health")

    def latest(self, metric: str) -> float | None:
        """The most recent value of ``metric``, or None when no datapoint was read."""
        points = self.metrics.get(metric)
        return points[-1].value if points else None

    def metric_is_healthy(self, metric: str) -> bool | None:
        """Whether the latest value is on the healthy side of the catalog threshold.

        None means "unknown" (no spec or no data), which callers must not read as healthy.
        """
        value = self.latest(metric)
        spec = next((s for s in self.metric_specs if s.name == metric), None)
        if value is None or spec is None:
            return None
        return spec.is_healthy(value)

    def unhealthy_metrics(self) -> list[str]:
        """Signal and traffic metrics known to be unhealthy. Saturation metrics are not among
        them: a busy CPU is a cause to look at (:meth:`saturated_metrics`), not a symptom users see."""
        return [
            s.name
            for s in self.metric_specs
            if s.role is not MetricRole.SATURATION and self.metric_is_healthy(s.name) is False
        ]

    def saturated_metrics(self) -> list[str]:
        """Saturation metrics (CPU, memory, latency) beyond their catalogued threshold."""
        return [
            s.name
            for s in self.metric_specs
            if s.role is MetricRole.SATURATION and self.metric_is_healthy(s.name) is False
        ]

    def traffic_rise(self) -> float | None:
        """Recent traffic over its baseline: the mean of the last :data:`RECENT_PERIODS` datapoints
        of the traffic metric divided by :attr:`baseline`'s median. None when either is unknown
        (or the baseline is zero)."""
        if self.baseline is None or self.baseline.median <= 0:
            return None
        recent = self.metrics.get(self.baseline.metric, [])[-RECENT_PERIODS:]
        if not recent:
            return None
        return sum(p.value for p in recent) / len(recent) / self.baseline.median

    def log_signatures(self) -> list[LogSignature]:
        """The error log lines read, grouped by :func:`log_signature`, most frequent first."""
        return log_signatures(self.log_errors)

    def alarms_in_alarm(self) -> list[str]:
        return sorted(name for name, state in self.alarms.items() if state == "ALARM")

    def unhealthy_targets(self) -> list[TargetHealth]:
        return [t for t in self.targets if t.state == "unhealthy"]


class EvidenceBundle(_Frozen):
    """A point-in-time picture of a service around an incident's onset, across its regions."""

    service: str
    environment: str
    onset: AwareDatetime
    window_start: AwareDatetime = Field(description="Start of what was read: onset - lookback.")
    collected_at: AwareDatetime
    regions: dict[str, RegionEvidence]
    changes: list[ChangeEvent] = Field(default_factory=list, description="Ascending by time.")
    source_errors: list[SourceError] = Field(default_factory=list)

    def changes_between(self, start: datetime, end: datetime) -> list[ChangeEvent]:
        """Changes with ``start <= at <= end``, oldest first (e.g. the 15 min before onset)."""
        return [c for c in self.changes if start <= c.at <= end]

    def latest_value(self, region: str, metric: str) -> float | None:
        evidence = self.regions.get(region)
        return evidence.latest(metric) if evidence else None

    def metric_is_healthy(self, region: str, metric: str) -> bool | None:
        """See :meth:`RegionEvidence.metric_is_healthy`; None for an unknown region too."""
        evidence = self.regions.get(region)
        return evidence.metric_is_healthy(metric) if evidence else None

    def unhealthy_regions(self) -> list[str]:
        """Regions where at least one key metric is known to be unhealthy."""
        return sorted(r for r, ev in self.regions.items() if ev.unhealthy_metrics())

    def failed_sources(self, region: str | None = None) -> set[str]:
        """Names of the sources that could not be read (in ``region``, if given)."""
        return {e.source for e in self.source_errors if region is None or e.region == region}

    def summary_markdown(self) -> str:
        """A short markdown digest for a Prefect artifact or an approval form."""
        return render_summary(self)
