"""The simulator against a real moto server: what a tick publishes reads back from CloudWatch,
Logs and alarms, and a mitigation shows in the metrics within a couple of ticks."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from drills.sandbox import Sandbox
from drills.simulator import Simulator, SimulatorError, TickRecord
from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog, MetricSpec
from tasks.metrics import latest_value

EU, US = n.REGIONS


def metric_points(target: AwsTarget, metric: str, dims: dict[str, str], at: datetime) -> list[dict[str, Any]]:
    """Datapoints around ``at`` with the catalog's 1-second period (moto truncates EndTime to the
    second, so a reader must end after the tick's second to see it)."""
    result = client("cloudwatch", target).get_metric_statistics(
        Namespace=n.NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=at - timedelta(seconds=10),
        EndTime=at + timedelta(seconds=1),
        Period=n.METRIC_PERIOD_SECONDS,
        Statistics=["Average"],
    )
    return sorted(result["Datapoints"], key=lambda p: p["Timestamp"])


def alarm_states(target: AwsTarget) -> dict[str, str]:
    alarms = client("cloudwatch", target).describe_alarms(AlarmNamePrefix=f"{n.SERVICE}-")["MetricAlarms"]
    return {a["AlarmName"]: a["StateValue"] for a in alarms}


def rollback(sandbox: Sandbox, region: str) -> None:
    ecs = client("ecs", sandbox.target(region))
    ecs.update_service(cluster=n.CLUSTER, service=n.ECS_SERVICE, taskDefinition=f"{n.TASK_FAMILY}:1")


def shift_route53(sandbox: Sandbox, catalog: Catalog, weights: dict[str, int]) -> None:
    route53 = catalog.entry(n.SERVICE, n.ENVIRONMENT).route53
    assert route53 is not None
    r53 = client("route53", sandbox.target())
    sets = r53.list_resource_record_sets(HostedZoneId=route53.zone_id)["ResourceRecordSets"]
    changes = [
        {"Action": "UPSERT", "ResourceRecordSet": r | {"Weight": weights[r["SetIdentifier"]]}}
        for r in sets
        if r.get("SetIdentifier") in weights
    ]
    r53.change_resource_record_sets(HostedZoneId=route53.zone_id, ChangeBatch={"Changes": changes})


def test_tick_publishes_metrics_logs_and_alarm_states(sandbox: Sandbox, catalog: Catalog) -> None:
    inject_bad_deploy(sandbox.target(), catalog, EU)
    record = Simulator(catalog, sandbox.endpoint_url).tick()
    eu_errors = record.health.regions[EU].error_rate
    assert record.state.regions[EU].ecs_bad and eu_errors is not None and eu_errors > 20.0

    for region, health in record.health.regions.items():
        dims = {"Region": region}
        target = sandbox.target(region)
        for metric, expected in [
            (n.ERROR_RATE, health.error_rate),
            (n.LATENCY_P99, health.latency_p99_ms),
            (n.REQUESTS, health.requests_per_min),
        ]:
            points = metric_points(target, metric, dims, record.at)
            assert [p["Average"] for p in points] == [expected]
    user = metric_points(sandbox.target(), n.ERROR_RATE, {"Service": n.SERVICE}, record.at)
    assert [p["Average"] for p in user] == [pytest.approx(record.health.user_error_rate, abs=0.001)]

    assert alarm_states(sandbox.target(EU)) == {
        n.alarm_name(EU, n.ERROR_RATE): "ALARM",
        n.alarm_name(EU, n.LATENCY_P99): "ALARM",  # a bad build is slow as well as failing
    }
    assert set(alarm_states(sandbox.target(US)).values()) == {"OK"}
    assert record.alarms[n.alarm_name(EU, n.ERROR_RATE)] == "ALARM"

    logs = client("logs", sandbox.target(EU))
    errors = logs.filter_log_events(logGroupName=n.LOG_GROUP, filterPattern="ERROR")["events"]
    assert len(errors) == round(20 * eu_errors / 100) and len(errors) >= 4
    assert all("TypeError" in e["message"] and "revision=checkout:2" in e["message"] for e in errors)


def test_rollback_recovers_metrics_and_alarm_on_the_next_tick(sandbox: Sandbox, catalog: Catalog) -> None:
    simulator = Simulator(catalog, sandbox.endpoint_url)
    inject_bad_deploy(sandbox.target(), catalog, EU)
    simulator.tick()
    assert alarm_states(sandbox.target(EU))[n.alarm_name(EU, n.ERROR_RATE)] == "ALARM"
    rollback(sandbox, EU)
    time.sleep(1.0)  # the next datapoint must fall in a later 1-second bucket
    after = simulator.tick()
    points = metric_points(sandbox.target(EU), n.ERROR_RATE, {"Region": EU}, after.at)
    assert points[-1]["Average"] == after.health.regions[EU].error_rate
    assert points[-1]["Average"] < 1.0
    assert points[0]["Average"] > 20.0  # the bad tick is still there, one bucket earlier
    assert alarm_states(sandbox.target(EU))[n.alarm_name(EU, n.ERROR_RATE)] == "OK"


def test_background_ticks_follow_runtime_faults_as_flows_read_them(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    eu_spec = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(EU).metrics[0]
    us_spec = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(US).metrics[0]
    window = timedelta(seconds=3)

    def wait_for(spec: MetricSpec, region: str, healthy: bool | None) -> None:
        """Until the region's latest reading is healthy / unhealthy / absent (None). The bound
        only stops a broken simulator from hanging the suite: how fast is bench/'s business."""
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            value = latest_value(spec, aws=sandbox.target(region), window=window)
            if (None if value is None else spec.is_healthy(value)) is healthy:
                return
            time.sleep(0.1)
        raise AssertionError(f"{spec.name} in {region} did not become {healthy} in 60 s")

    with Simulator(catalog, sandbox.endpoint_url, tick_seconds=0.5) as simulator:
        wait_for(eu_spec, EU, healthy=True)
        simulator.degrade_region(EU)
        wait_for(eu_spec, EU, healthy=False)
        shift_route53(sandbox, catalog, {EU: 0, US: 100})
        wait_for(eu_spec, EU, healthy=None)  # drained: no datapoints at all
        wait_for(us_spec, US, healthy=True)
    history = simulator.history
    assert simulator.failed_ticks == 0 and len(history) >= 3
    assert history[-1].health.regions[EU].requests_per_min == 0.0
    assert history[-1].health.regions[US].requests_per_min > 10_000
    assert _strictly_increasing(history)


def test_dependency_down_is_not_fixed_by_shifting_traffic(sandbox: Sandbox, catalog: Catalog) -> None:
    simulator = Simulator(catalog, sandbox.endpoint_url)
    simulator.set_dependency_down(True)
    shift_route53(sandbox, catalog, {EU: 0, US: 100})
    record = simulator.tick()
    user = metric_points(sandbox.target(), n.ERROR_RATE, {"Service": n.SERVICE}, record.at)
    assert user[-1]["Average"] > 29.5
    assert alarm_states(sandbox.target(US))[n.alarm_name(US, n.ERROR_RATE)] == "ALARM"


def test_sending_alb_traffic_to_the_empty_green_group_fails_it(sandbox: Sandbox, catalog: Catalog) -> None:
    alb = catalog.entry(n.SERVICE, n.ENVIRONMENT).region(EU).alb
    assert alb is not None
    blue, green = alb.target_group_arns
    forward = {
        "TargetGroups": [{"TargetGroupArn": blue, "Weight": 0}, {"TargetGroupArn": green, "Weight": 100}]
    }
    client("elbv2", sandbox.target(EU)).modify_listener(
        ListenerArn=alb.listener_arn, DefaultActions=[{"Type": "forward", "ForwardConfig": forward}]
    )
    record = Simulator(catalog, sandbox.endpoint_url).tick()
    assert record.state.regions[EU].alb_weights == {n.BLUE_TARGET_GROUP: 0, n.GREEN_TARGET_GROUP: 100}
    assert record.state.regions[EU].alb_dead_share == 1.0
    assert record.health.regions[EU].error_rate == 100.0


def test_unknown_region_cannot_be_degraded(sandbox: Sandbox, catalog: Catalog) -> None:
    simulator = Simulator(catalog, sandbox.endpoint_url)
    with pytest.raises(SimulatorError, match="ap-south-1"):
        simulator.degrade_region("ap-south-1")
    assert simulator.faults.region_degraded == frozenset()


def _strictly_increasing(history: list[TickRecord]) -> bool:
    return all(a.tick < b.tick and a.drill_elapsed < b.drill_elapsed for a, b in itertools.pairwise(history))


def test_a_drained_region_publishes_no_datapoints_and_its_alarms_lack_data(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    simulator = Simulator(catalog, sandbox.endpoint_url)
    simulator.degrade_region(EU)
    simulator.tick()
    assert alarm_states(sandbox.target(EU))[n.alarm_name(EU, n.ERROR_RATE)] == "ALARM"
    shift_route53(sandbox, catalog, {EU: 0, US: 100})
    time.sleep(1.0)  # the drained tick must fall in a later 1-second bucket
    drained = simulator.tick()
    for metric in (n.ERROR_RATE, n.LATENCY_P99, n.REQUESTS):
        points = metric_points(sandbox.target(EU), metric, {"Region": EU}, drained.at)
        assert all(p["Timestamp"] < drained.at.replace(microsecond=0) for p in points), metric
    # TreatMissingData=missing: CloudWatch has nothing to evaluate, so the state is INSUFFICIENT_DATA.
    assert set(alarm_states(sandbox.target(EU)).values()) == {"INSUFFICIENT_DATA"}
    assert set(alarm_states(sandbox.target(US)).values()) == {"OK"}
    us = metric_points(sandbox.target(US), n.REQUESTS, {"Region": US}, drained.at)
    assert us[-1]["Average"] > 10_000
