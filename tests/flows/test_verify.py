"""Verification: what a bake watches (pure) and what it concludes from CloudWatch (moto).

Real CloudWatch has no datapoints for a region without requests, so a drained region's error
rate reads "no data": a drain is verified where the traffic went and by the drained region's
traffic falling, and "no data" is never healthy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from alerts.models import Alert, MetricRef
from flows.detect import confirm
from flows.incident_run import IncidentRun
from flows.settings import RunSettings
from flows.timeline import Timeline
from flows.verify import Expect, Probe, Reading, bake, round_health, watch_scope
from policies import Severity, default_policy
from tasks.aws import AwsTarget, client
from tasks.catalog import (
    Catalog,
    CatalogError,
    Comparison,
    MetricRole,
    MetricSpec,
    RegionResources,
    Route53Weighted,
    ServiceEnvironment,
    ServiceMetric,
    load_catalog,
)
from tasks.metrics import SignalHealth
from tasks.plan import Plan

EU, US = "eu-west-1", "us-east-1"  # EU is the alert region, drained in the drain cases
NAMESPACE = "Checkout"


def _spec(
    name: str, metric: str, region: str, threshold: float, role: MetricRole = MetricRole.SIGNAL
) -> MetricSpec:
    comparison = Comparison.ABOVE if role is MetricRole.TRAFFIC else Comparison.BELOW
    return MetricSpec(
        name=name,
        namespace=NAMESPACE,
        metric_name=metric,
        dimensions={"Region": region},
        healthy_threshold=threshold,
        healthy_when=comparison,
        role=role,
    )


def _region(region: str) -> RegionResources:
    return RegionResources(
        metrics=[
            _spec("error_rate", "ErrorRate", region, 5.0),
            _spec("requests", "Requests", region, 0.0, MetricRole.TRAFFIC),
        ]
    )


USER_ERRORS = ServiceMetric(
    name="user_error_rate",
    namespace=NAMESPACE,
    metric_name="ErrorRate",
    dimensions={"Service": "checkout"},
    healthy_threshold=5.0,
)
ENTRY = ServiceEnvironment(
    primary_region=US,
    regions={EU: _region(EU), US: _region(US)},
    route53=Route53Weighted(
        zone_id="Z1", record_name="checkout.example.", set_identifiers={EU: "eu", US: "us"}
    ),
    service_metric=USER_ERRORS,
)


def _plan(kind: str, before: dict[str, int], after: dict[str, int], region: str = US) -> Plan:
    return Plan(
        kind=kind,
        service="checkout",
        environment="prod",
        aws=AwsTarget(region=region),
        targets=["checkout"],
        before=before,
        after=after,
        blast_radius=0.5,
        summary="test plan",
    )


DRAIN = _plan("traffic.shift.route53", {EU: 100, US: 100}, {EU: 0, US: 200})
ROLLBACK = _plan("rollback.ecs", {EU: 2}, {EU: 1}, region=EU)


def _alert() -> Alert:
    return Alert(
        source="test",
        fingerprint="test:checkout-eu",
        service="checkout",
        environment="prod",
        region=EU,
        name="checkout-prod-eu-west-1-ErrorRate",
        starts_at=datetime.now(UTC) - timedelta(minutes=5),
        metric=MetricRef(namespace=NAMESPACE, name="ErrorRate", dimensions={"Region": EU}),
    )


# --- pure: what is watched -------------------------------------------------------------


def _shape(probes: list[Probe]) -> list[tuple[str, str, Expect]]:
    return [(p.region, p.spec.name, p.expect) for p in probes]


def test_a_drain_watches_where_traffic_went_the_service_metric_and_the_drained_traffic() -> None:
    probes = watch_scope(ENTRY, _alert(), EU, DRAIN)
    assert sorted(_shape(probes)) == sorted(
        [
            (EU, "error_rate", Expect.RECORDED),  # drained to zero: no data expected
            (EU, "requests", Expect.FELL),
            (US, "error_rate", Expect.HEALTHY),
            (US, "user_error_rate", Expect.HEALTHY),
        ]
    )
    fell = next(p for p in probes if p.expect is Expect.FELL)
    assert fell.expected_ratio == 0.0 and fell.drained


def test_a_partial_drain_still_needs_the_drained_region_healthy() -> None:
    partial = _plan("traffic.shift.route53", {EU: 100, US: 100}, {EU: 75, US: 125})
    probes = watch_scope(ENTRY, _alert(), EU, partial)
    assert (EU, "error_rate", Expect.HEALTHY) in _shape(probes)
    fell = next(p for p in probes if p.expect is Expect.FELL)
    assert fell.expected_ratio == pytest.approx(0.75) and not fell.drained


def test_without_a_drain_the_alert_region_signal_is_watched() -> None:
    for plan in (None, ROLLBACK):
        assert _shape(watch_scope(ENTRY, _alert(), EU, plan)) == [(EU, "error_rate", Expect.HEALTHY)]


def test_an_in_region_shift_watches_that_region_and_the_service_metric() -> None:
    alb = _plan(
        "traffic.shift.alb", {"tg-blue": 100, "tg-green": 0}, {"tg-blue": 0, "tg-green": 100}, region=EU
    )
    assert _shape(watch_scope(ENTRY, _alert(), EU, alb)) == [
        (EU, "error_rate", Expect.HEALTHY),
        (US, "user_error_rate", Expect.HEALTHY),
    ]


def test_a_drain_from_a_region_without_a_traffic_metric_is_refused() -> None:
    bare = ENTRY.model_copy(
        update={
            "regions": {
                EU: RegionResources(metrics=[_spec("error_rate", "ErrorRate", EU, 5.0)]),
                US: _region(US),
            }
        }
    )
    with pytest.raises(CatalogError, match="role: traffic"):
        watch_scope(bare, _alert(), EU, DRAIN)


def test_the_catalog_reads_service_metric_and_roles_and_refuses_ambiguity(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    metric = {
        "name": "error_rate",
        "namespace": NAMESPACE,
        "metric_name": "ErrorRate",
        "healthy_threshold": 5,
    }
    traffic = {**metric, "name": "requests", "metric_name": "Requests", "role": "traffic"}
    env = {
        "primary_region": US,
        "regions": {US: {"metrics": [metric, traffic]}},
        "service_metric": {**metric, "name": "user_error_rate", "dimensions": {"Service": "checkout"}},
    }
    path.write_text(yaml.safe_dump({"services": {"checkout": {"prod": env}}}))
    entry = load_catalog(path).entry("checkout", "prod")
    assert entry.service_metric is not None and entry.service_metric.region is None
    assert entry.region(US).traffic_metric() == entry.region(US).metrics[1]
    env["regions"] = {US: {"metrics": [metric, traffic, {**traffic, "name": "hits"}]}}
    path.write_text(yaml.safe_dump({"services": {"checkout": {"prod": env}}}))
    with pytest.raises(CatalogError, match="role: traffic"):
        load_catalog(path)
    env["regions"] = {US: {"metrics": [metric]}}
    env["service_metric"] = metric
    path.write_text(yaml.safe_dump({"services": {"checkout": {"prod": env}}}))
    with pytest.raises(CatalogError, match=r"service_metric\.name"):
        load_catalog(path)


# --- pure: what a reading and a round mean ---------------------------------------------

NOW = datetime.now(UTC)
SIGNAL = Probe(region=US, spec=_spec("error_rate", "ErrorRate", US, 5.0))
DRAINED = Probe(
    region=EU,
    spec=_spec("requests", "Requests", EU, 0.0, MetricRole.TRAFFIC),
    expect=Expect.FELL,
    expected_ratio=0.0,
)


def test_no_data_is_never_healthy_for_a_signal() -> None:
    reading = SIGNAL.judge(None, NOW)
    assert reading.state is SignalHealth.NO_DATA and not reading.holds
    assert SIGNAL.judge(1.0, NOW).state is SignalHealth.HEALTHY
    assert SIGNAL.judge(9.0, NOW).state is SignalHealth.UNHEALTHY


def test_a_drained_region_without_datapoints_has_fallen_only_after_a_baseline() -> None:
    assert not DRAINED.judge(None, NOW).holds  # no baseline: nothing says the metric exists
    with_baseline = DRAINED.with_baseline(120.0)
    silent = with_baseline.judge(None, NOW)
    assert silent.state is SignalHealth.NO_DATA and silent.holds
    assert with_baseline.judge(10.0, NOW).holds
    assert with_baseline.judge(110.0, NOW).state is SignalHealth.UNHEALTHY


def test_a_round_is_unhealthy_before_no_data_and_healthy_only_when_all_hold() -> None:
    def reading(state: SignalHealth, holds: bool) -> Reading:
        return Reading(
            at=NOW, region=US, metric="m", expect=Expect.HEALTHY, value=None, state=state, holds=holds
        )

    ok = reading(SignalHealth.HEALTHY, True)
    silent = reading(SignalHealth.NO_DATA, False)
    bad = reading(SignalHealth.UNHEALTHY, False)
    assert round_health([ok, ok]) is SignalHealth.HEALTHY
    assert round_health([ok, silent]) is SignalHealth.NO_DATA
    assert round_health([silent, bad, ok]) is SignalHealth.UNHEALTHY
    assert round_health([]) is SignalHealth.NO_DATA


# --- against CloudWatch (moto) ---------------------------------------------------------


def _put(
    region: str, metric: str, value: float, seconds_ago: int, dims: dict[str, str] | None = None
) -> None:
    dimensions = dims or {"Region": region}
    client("cloudwatch", AwsTarget(region=region)).put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(seconds=seconds_ago),
            }
        ],
    )


def _before_the_shift() -> None:
    """Five minutes ago both regions served traffic (the baseline of the drained region)."""
    for region in (EU, US):
        _put(region, "Requests", 100.0, 300)


@pytest.fixture
def run(aws: AwsTarget, tmp_path: Path, prefect_api: None) -> IncidentRun:
    settings = RunSettings(
        bake_seconds=1,
        watch_interval_seconds=0.05,
        healthy_checks=2,
        confirm_attempts=1,
    )
    return IncidentRun(
        incident_id="INC-test",
        alert=_alert(),
        settings=settings,
        catalog=Catalog(services={"checkout": {"prod": ENTRY}}),
        entry=ENTRY,
        policy=default_policy(),
        timeline=Timeline(incident_id="INC-test", path=tmp_path / "timeline.json"),
        severity=Severity.SEV_2,
    )


def _healthy_receiver() -> None:
    _put(US, "ErrorRate", 0.5, 10)
    _put(US, "Requests", 200.0, 10)
    _put(US, "ErrorRate", 0.5, 10, dims={"Service": "checkout"})


def test_drained_region_without_datapoints_and_healthy_receivers_is_recovered(run: IncidentRun) -> None:
    _before_the_shift()
    _healthy_receiver()  # EU now publishes nothing, as real CloudWatch does without requests
    check = bake(run, DRAIN)
    assert check.healthy and check.health is SignalHealth.HEALTHY
    eu_errors = [r for r in check.readings if (r.region, r.metric) == (EU, "error_rate")]
    assert eu_errors and all(r.value is None and r.state is SignalHealth.NO_DATA for r in eu_errors)
    assert check.last_value is None  # the alert region's signal: no data, recorded as such


def test_an_unhealthy_receiving_region_is_not_recovered(run: IncidentRun) -> None:
    _before_the_shift()
    _healthy_receiver()
    _put(US, "ErrorRate", 12.0, 5)  # the same minute, now averaging above 5 %
    check = bake(run, DRAIN)
    assert not check.healthy and check.health is SignalHealth.UNHEALTHY
    assert any((r.region, r.state) == (US, SignalHealth.UNHEALTHY) for r in check.readings)


def test_a_drained_region_that_still_has_traffic_is_not_recovered(run: IncidentRun) -> None:
    _before_the_shift()
    _healthy_receiver()
    _put(EU, "Requests", 100.0, 10)  # the weights changed but the requests did not move
    check = bake(run, DRAIN)
    assert check.health is SignalHealth.UNHEALTHY
    assert any(r.expect is Expect.FELL and r.state is SignalHealth.UNHEALTHY for r in check.readings)


def test_no_datapoints_anywhere_is_no_data_and_not_recovered(run: IncidentRun) -> None:
    check = bake(run, DRAIN)
    assert not check.healthy and check.health is SignalHealth.NO_DATA
    assert check.readings and all(r.value is None for r in check.readings)


def test_a_rollback_bake_with_no_data_in_the_region_is_no_data_not_recovered(run: IncidentRun) -> None:
    _healthy_receiver()  # another region is fine; the rolled-back one says nothing
    check = bake(run, ROLLBACK)
    assert not check.healthy and check.health is SignalHealth.NO_DATA
    assert {(r.region, r.metric, r.state) for r in check.readings} == {
        (EU, "error_rate", SignalHealth.NO_DATA)
    }


def test_a_rollback_bake_with_healthy_readings_is_recovered(run: IncidentRun) -> None:
    _put(EU, "ErrorRate", 0.2, 10)
    assert bake(run).health is SignalHealth.HEALTHY


def test_confirm_without_data_confirms_nothing_and_records_no_data(run: IncidentRun) -> None:
    check = confirm(run)
    assert not check.confirmed and check.health is SignalHealth.NO_DATA
    entry = run.timeline.events("not-confirmed")[0]
    assert entry.data["value"] is None and entry.data["state"] == "no_data"
    assert "no data" in entry.message


def test_confirm_on_an_unhealthy_reading(run: IncidentRun) -> None:
    _put(EU, "ErrorRate", 30.0, 10)
    check = confirm(run)
    assert check.confirmed and check.last_value == 30.0
    assert run.timeline.events("confirmed")[0].data["state"] == "unhealthy"
