"""Watching the signal: confirm an alert from a second source, and bake a fix.

Both read the CloudWatch metrics the catalog names, so "confirmed" and "recovered" mean what
the on-call engineer would check on the dashboard. Every reading is healthy, unhealthy or no
data (``SignalHealth``): real CloudWatch has no datapoints for a region without requests, so no
data is never healthy and never confirms an alert.

What a bake watches depends on the change that was applied (``watch_scope``):

- a Route 53 shift: the signal of every region that still takes traffic (all must be healthy),
  the service-level metric if the catalog names one, and the traffic of every region whose
  share fell (it must fall at least halfway to the expected level; a region drained to zero
  may answer with no datapoints, once its baseline showed the metric exists). The signal of a
  region drained to zero is only recorded: no data there is expected.
- an ALB or Lambda shift (target groups or versions inside one region): that region's signal
  and the service-level metric. The catalog has no per-target traffic metric to watch fall.
- anything else, or no plan: the alert region's signal.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field

from alerts.models import Alert
from flows.incident_run import IncidentRun
from tasks.aws import AwsTarget
from tasks.catalog import CatalogError, MetricRole, MetricSpec, ServiceEnvironment
from tasks.metrics import SignalHealth, latest_values, peak_value, read_metric, signal_health
from tasks.plan import Plan
from tasks.traffic_alb import KIND as ALB_SHIFT
from tasks.traffic_lambda import KIND as LAMBDA_SHIFT
from tasks.traffic_route53 import KIND as ROUTE53_SHIFT

BASELINE_PERIODS = 10  # a drained region's traffic baseline: its peak over this many periods


class Expect(StrEnum):
    """What a watched metric must show for the change to hold."""

    HEALTHY = "healthy"  # a signal on its healthy side (no data does not count)
    FELL = "fell"  # a drained region's traffic, below its limit
    RECORDED = "recorded"  # read for the timeline only (a region drained to zero)


class Reading(BaseModel):
    """One value read, what it says, and whether it counts toward recovery."""

    at: datetime
    region: str
    metric: str
    expect: Expect
    value: float | None = Field(description="None: CloudWatch had no datapoints in the window.")
    state: SignalHealth
    holds: bool = Field(description="Whether this reading lets the change count as holding.")


class Probe(BaseModel):
    """One metric in one region, and what it is expected to show."""

    model_config = ConfigDict(frozen=True)

    region: str
    spec: MetricSpec
    expect: Expect = Expect.HEALTHY
    expected_ratio: float | None = Field(default=None, description="FELL: traffic share after / before.")
    limit: float | None = Field(default=None, description="FELL: highest value that counts as fallen.")

    @property
    def drained(self) -> bool:
        """The region's traffic share went to zero."""
        return self.expected_ratio == 0.0

    def with_baseline(self, baseline: float | None) -> Probe:
        """Set the FELL limit halfway between the baseline and the expected level (None: no baseline)."""
        if baseline is None or self.expected_ratio is None:
            return self
        return self.model_copy(update={"limit": baseline * (1 + self.expected_ratio) / 2})

    def judge(self, value: float | None, at: datetime) -> Reading:
        """What ``value`` (None: no datapoints) read at ``at`` says, and whether it holds."""
        state = self._state(value)
        if self.expect is Expect.RECORDED:
            holds = True
        elif self.expect is Expect.FELL and state is SignalHealth.NO_DATA:
            holds = self.drained and self.limit is not None  # no requests publish no datapoints
        else:
            holds = state is SignalHealth.HEALTHY
        return Reading(
            at=at,
            region=self.region,
            metric=self.spec.name,
            expect=self.expect,
            value=value,
            state=state,
            holds=holds,
        )

    def _state(self, value: float | None) -> SignalHealth:
        if self.expect is not Expect.FELL:
            return signal_health(self.spec, value)
        if value is None or self.limit is None:  # without a baseline, nothing to compare with
            return SignalHealth.NO_DATA
        return SignalHealth.HEALTHY if value <= self.limit else SignalHealth.UNHEALTHY


class SignalCheck(BaseModel):
    """The outcome of watching: one state for the whole check, and every reading taken.

    ``metric`` and ``region`` name the incident's signal (the alert's metric in the alert's
    region); ``readings`` may cover other regions and metrics too.
    """

    metric: str
    region: str
    health: SignalHealth
    readings: list[Reading] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Recovered (after a bake), or not confirmed by a healthy reading (after confirm)."""
        return self.health is SignalHealth.HEALTHY

    @property
    def confirmed(self) -> bool:
        """The signal was read on its unhealthy side: no data confirms nothing."""
        return self.health is SignalHealth.UNHEALTHY

    @property
    def last_value(self) -> float | None:
        """The last value of the incident's signal; None if it had no data or was not read."""
        values = [r.value for r in self.readings if (r.region, r.metric) == (self.region, self.metric)]
        return values[-1] if values else None

    @property
    def summary(self) -> str:
        """The last reading of each watched metric, e.g. ``error_rate@us-east-1=0.4 (healthy)``."""
        last = {(r.region, r.metric): r for r in self.readings}
        return "; ".join(
            f"{m}@{region}={'no data' if r.value is None else r.value} ({r.state.value}"
            f"{'' if r.expect is Expect.HEALTHY else ', expected ' + r.expect.value})"
            for (region, m), r in last.items()
        )


def signal_metric(entry: ServiceEnvironment, alert: Alert, region: str) -> MetricSpec:
    """The catalog metric that corresponds to the alert (same namespace and name), else the
    region's first signal metric."""
    metrics = entry.region(region).metrics
    if alert.metric is not None:
        for spec in metrics:
            if (spec.namespace, spec.metric_name) == (alert.metric.namespace, alert.metric.name):
                return spec
    signals = [m for m in metrics if m.role is MetricRole.SIGNAL]
    if not signals:
        raise CatalogError(f"region {region!r} has no signal metrics in the catalog to confirm alerts with")
    return signals[0]


def watch_scope(
    entry: ServiceEnvironment, alert: Alert, region: str, plan: Plan | None = None
) -> list[Probe]:
    """What a bake after ``plan`` watches (see the module docstring); ``region`` is the alert's."""
    if plan is not None and plan.kind == ROUTE53_SHIFT:
        return _shift_scope(entry, alert, plan) + _service_probes(entry)
    if plan is not None and plan.kind in {ALB_SHIFT, LAMBDA_SHIFT}:
        where = plan.aws.region
        return [Probe(region=where, spec=signal_metric(entry, alert, where)), *_service_probes(entry)]
    return [Probe(region=region, spec=signal_metric(entry, alert, region))]


def _shift_scope(entry: ServiceEnvironment, alert: Alert, plan: Plan) -> list[Probe]:
    before = {r: int(w) for r, w in plan.before.items()}
    after = {r: int(w) for r, w in plan.after.items()}
    total_before, total_after = sum(before.values()), sum(after.values())
    probes: list[Probe] = []
    for region in sorted(after):
        serving = after[region] > 0
        probes.append(
            Probe(
                region=region,
                spec=signal_metric(entry, alert, region),
                expect=Expect.HEALTHY if serving else Expect.RECORDED,
            )
        )
        if not before.get(region) or not total_after:
            continue
        ratio = (after[region] / total_after) / (before[region] / total_before)
        if ratio < 1:
            traffic = entry.region(region).traffic_metric()
            if traffic is None:
                raise CatalogError(
                    f"region {region!r} has no metric with role: traffic, so a shift away from it "
                    "cannot be verified"
                )
            probes.append(Probe(region=region, spec=traffic, expect=Expect.FELL, expected_ratio=ratio))
    return probes


def _service_probes(entry: ServiceEnvironment) -> list[Probe]:
    metric = entry.service_metric
    if metric is None:
        return []
    return [Probe(region=metric.region or entry.primary_region, spec=metric)]


def round_health(readings: list[Reading]) -> SignalHealth:
    """One round of readings: healthy when every reading holds, else unhealthy if any failing
    reading is unhealthy, else no data."""
    failing = [r for r in readings if not r.holds]
    if readings and not failing:
        return SignalHealth.HEALTHY
    if any(r.state is SignalHealth.UNHEALTHY for r in failing):
        return SignalHealth.UNHEALTHY
    return SignalHealth.NO_DATA


@task(name="confirm-signal", cache_policy=NO_CACHE)
def confirm_signal(
    spec: MetricSpec,
    aws: AwsTarget,
    window_seconds: int,
    attempts: int = 3,
    not_before: datetime | None = None,
) -> SignalCheck:
    """Confirmed only by a reading on the unhealthy side: no data confirms nothing. Metrics lag
    the alarm that fired on them (the newest datapoint may not be readable yet), so the metric
    is re-read up to ``attempts`` times, one period apart. Not confirmed is HEALTHY if any
    reading was healthy, else NO_DATA.

    A healthy datapoint older than ``not_before`` (the alarm's onset) refutes nothing: a region
    that went silent keeps its last healthy datapoints in the window, and the alarm fired after
    them. Such a reading keeps its value and counts as no data."""
    probe = Probe(region=aws.region, spec=spec)
    readings: list[Reading] = []
    for attempt in range(attempts):
        if attempt:
            time.sleep(spec.period_seconds)
        now = datetime.now(UTC)
        points = read_metric(spec, aws=aws, start=now - timedelta(seconds=window_seconds), end=now)
        reading = probe.judge(points[-1].value if points else None, now)
        if reading.state is SignalHealth.HEALTHY and not_before is not None and points[-1].at < not_before:
            reading = reading.model_copy(update={"state": SignalHealth.NO_DATA, "holds": False})
        readings.append(reading)
        if reading.state is SignalHealth.UNHEALTHY:
            break
    states = {r.state for r in readings}
    if SignalHealth.UNHEALTHY in states:
        health = SignalHealth.UNHEALTHY
    elif SignalHealth.HEALTHY in states:
        health = SignalHealth.HEALTHY
    else:
        health = SignalHealth.NO_DATA
    return SignalCheck(metric=spec.name, region=aws.region, health=health, readings=readings)


@task(name="watch-signal", cache_policy=NO_CACHE)
def watch_signal(
    probes: list[Probe],
    aws: AwsTarget,
    *,
    metric: str,
    bake_seconds: int,
    interval_seconds: float,
    healthy_checks: int,
) -> SignalCheck:
    """Read every probe each ``interval_seconds`` for up to ``bake_seconds``; recovered after
    ``healthy_checks`` consecutive rounds in which every reading holds (it stops early only
    then). Otherwise the check has the state of the last round. ``aws`` is the alert region's
    target (its role and endpoint are used in every region); ``metric`` its signal's name."""
    probes = [p.with_baseline(_baseline(p, aws)) if p.expect is Expect.FELL else p for p in probes]
    deadline = time.monotonic() + bake_seconds
    readings: list[Reading] = []
    streak = 0
    while True:
        current = _read_round(probes, aws, interval_seconds)
        readings += current
        health = round_health(current)
        streak = streak + 1 if health is SignalHealth.HEALTHY else 0
        if streak >= healthy_checks or time.monotonic() + interval_seconds > deadline:
            final = SignalHealth.HEALTHY if streak >= healthy_checks else health
            return SignalCheck(metric=metric, region=aws.region, health=final, readings=readings)
        time.sleep(interval_seconds)


def _baseline(probe: Probe, aws: AwsTarget) -> float | None:
    window = timedelta(seconds=BASELINE_PERIODS * probe.spec.period_seconds)
    return peak_value(probe.spec, aws=aws.in_region(probe.region), window=window)


def _read_round(probes: list[Probe], aws: AwsTarget, interval_seconds: float) -> list[Reading]:
    """Read every probe, one GetMetricData call per region."""
    by_region: dict[str, list[Probe]] = defaultdict(list)
    for p in probes:
        by_region[p.region].append(p)
    values: dict[tuple[str, str], float | None] = {}
    for region, group in by_region.items():
        window = timedelta(seconds=max(2 * interval_seconds, *(p.spec.period_seconds for p in group)))
        latest = latest_values([p.spec for p in group], aws=aws.in_region(region), window=window)
        values |= {(region, name): value for name, value in latest.items()}
    now = datetime.now(UTC)
    return [p.judge(values[(p.region, p.spec.name)], now) for p in probes]


def bake(run: IncidentRun, plan: Plan | None = None, regions: dict[str, Alert] | None = None) -> SignalCheck:
    """Watch what ``plan`` should have changed (``watch_scope``) with the run's bake settings.

    ``regions`` (region -> the alert that named it; default: the alert's region) are the
    incident's regions the change is meant to fix: each one's signal is watched, the first's
    with the plan's own scope. Without a plan it watches each of those regions' signal.
    """
    s = run.settings
    watched = regions or {run.region: run.alert}
    (first, alert), *rest = watched.items()
    probes = watch_scope(run.entry, alert, first, plan)
    for region, other in rest:
        probes += [p for p in watch_scope(run.entry, other, region) if p not in probes]
    return watch_signal(
        probes,
        run.aws(first),
        metric=signal_metric(run.entry, alert, first).name,
        bake_seconds=s.bake_seconds,
        interval_seconds=s.watch_interval_seconds,
        healthy_checks=s.healthy_checks,
    )


def regions_holding(check: SignalCheck, healthy_checks: int) -> set[str]:
    """The regions whose readings all held in each of the last ``healthy_checks`` rounds (a
    round's readings share their time): which of several watched regions recovered, when the
    whole check did not.

    >>> regions_holding(check, 2)  # eu-west-1 held twice in a row, us-east-1 did not
    {'eu-west-1'}
    """
    rounds: dict[datetime, list[Reading]] = defaultdict(list)
    for r in check.readings:
        rounds[r.at].append(r)
    last = list(rounds.values())[-healthy_checks:]
    if len(last) < healthy_checks:
        return set()
    regions = {r.region for r in check.readings}
    return {region for region in regions if all(r.holds for rnd in last for r in rnd if r.region == region)}
