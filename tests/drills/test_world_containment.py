"""Issue 16's world semantics for the last-resort containment: API Gateway throttling on the
search catalog's `search` (ECS at its capacity cap behind a stage) and the maintenance page on
the storefront catalog's `storefront` (ECS behind an ALB, one region). Each change is made by
plain boto3 and its effect read back from the sandbox (CloudWatch, logs, the final state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from drills.sandbox import Sandbox
from drills.world import seed_world
from drills.world.final import read_final
from drills.world.health import DEMAND_PER_MIN, service_health
from drills.world.simulator import WorldSimulator
from drills.world.state import RegionState, ServiceFaults, ServiceState
from tasks.catalog import Catalog, load_catalog

CATALOGS = Path(__file__).parents[2] / "drills" / "catalogs"
EU = "eu-west-1"
HEALTHY = 5.0
SEARCH = {"Service": "search", "Region": EU}
STOREFRONT = {"Service": "storefront", "Region": EU}


def _seed(sandbox: Sandbox, name: str) -> Catalog:
    sandbox.reset()
    return seed_world(load_catalog(CATALOGS / f"{name}.yaml"), sandbox.endpoint_url)


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, region_name=EU, endpoint_url=sandbox.endpoint_url)  # type: ignore[call-overload]


def _samples(sandbox: Sandbox, namespace: str, metric: str, dimensions: dict[str, str]) -> int:
    """How many datapoints CloudWatch holds for the series over the last ten minutes."""
    now = datetime.now(UTC)
    points = _client(sandbox, "cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric, Statistics=["SampleCount"], Period=600,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1),
    )["Datapoints"]  # fmt: skip
    return int(sum(p["SampleCount"] for p in points))


def _lowest(
    sandbox: Sandbox, namespace: str, metric: str, dimensions: dict[str, str], since: datetime
) -> float:
    """The lowest value published since ``since`` (ticks within one second share a datapoint:
    the minimum shows the side the test expects)."""
    points = _client(sandbox, "cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric, Statistics=["Minimum"], Period=1,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=since, EndTime=datetime.now(UTC) + timedelta(seconds=5),
    )["Datapoints"]  # fmt: skip
    assert points, f"no datapoint for {namespace}/{metric}"
    return min(float(p["Minimum"]) for p in points)


def _throttle(sandbox: Sandbox, catalog: Catalog, rate: float) -> None:
    stage = catalog.entry("search", "prod").region(EU).api_gateway
    assert stage is not None
    _client(sandbox, "apigateway").update_stage(
        restApiId=stage.rest_api, stageName=stage.stage,
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)}],
    )  # fmt: skip


@pytest.fixture
def search(sandbox: Sandbox) -> Catalog:
    return _seed(sandbox, "search")


@pytest.fixture
def storefront(sandbox: Sandbox) -> Catalog:
    return _seed(sandbox, "storefront")


def test_throttling_below_the_demand_recovers_the_saturated_service(
    search: Catalog, sandbox: Sandbox
) -> None:
    sim = WorldSimulator(search, sandbox.endpoint_url)
    sim.spike("search", 3.0)
    spiked = sim.tick().health["search"].regions[EU]
    assert spiked.error_rate is not None and spiked.error_rate >= HEALTHY
    assert spiked.saturation_percent is not None and spiked.saturation_percent >= 90.0
    # Wrong: more tasks; the scalable target is at its cap (2) and the autoscaler holds it there.
    _client(sandbox, "ecs").update_service(cluster="search-prod", service="search", desiredCount=4)
    still = sim.tick().health["search"].regions[EU]
    assert still.error_rate is not None and still.error_rate >= HEALTHY
    # Wrong: a stage limit above the demand refuses nothing.
    _throttle(sandbox, search, 5000.0)
    loose = sim.tick().health["search"].regions[EU]
    assert loose.error_rate is not None and loose.error_rate >= HEALTHY and loose.throttled_per_min == 0.0
    # Right: the catalog's emergency level, under what two tasks serve.
    _throttle(sandbox, search, 400.0)
    since = datetime.now(UTC)
    throttled = sim.tick().health["search"].regions[EU]
    assert throttled.error_rate is not None and throttled.error_rate < HEALTHY
    assert throttled.throttled_per_min > 0.0
    assert throttled.requests_per_min <= 1.05 * 60 * 400
    assert _lowest(sandbox, "Search", "CPUUtilization", SEARCH, since) < 90.0
    assert _lowest(sandbox, "Search", "ErrorRate", SEARCH, since) < HEALTHY
    final = read_final(search, sandbox.endpoint_url, service="search", environment="prod")
    assert final.final_values()["throttle_rate"] == {EU: "400.0"}


def test_removing_the_limit_brings_the_load_back(search: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(search, sandbox.endpoint_url)
    sim.spike("search", 3.0)
    _throttle(sandbox, search, 400.0)
    assert (sim.tick().health["search"].regions[EU].error_rate or 0.0) < HEALTHY
    _throttle(sandbox, search, -1)  # API Gateway's "no stage limit", as the inverse writes it
    back = sim.tick().health["search"].regions[EU]
    assert back.error_rate is not None and back.error_rate >= HEALTHY and back.throttled_per_min == 0.0
    final = read_final(search, sandbox.endpoint_url, service="search", environment="prod")
    assert final.final_values()["throttle_rate"] == {EU: None}


def _fixed_response_rule(sandbox: Sandbox, catalog: Catalog, path: str, priority: int) -> str:
    listener = catalog.entry("storefront", "prod").region(EU).alb
    assert listener is not None
    created = _client(sandbox, "elbv2").create_rule(
        ListenerArn=listener.listener_arn, Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "503", "ContentType": "text/html", "MessageBody": "<h1>maintenance</h1>",
        }}],
    )  # fmt: skip
    return str(created["Rules"][0]["RuleArn"])


def _log_lines(sandbox: Sandbox) -> int:
    return len(_client(sandbox, "logs").filter_log_events(logGroupName="/ecs/storefront")["events"])


def test_the_maintenance_page_stops_the_services_datapoints(storefront: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(storefront, sandbox.endpoint_url)
    sim.degrade("storefront", EU, 90.0)
    sim.tick()
    # Wrong: a fixed response on one path leaves the rest of the traffic on the service.
    _fixed_response_rule(sandbox, storefront, "/admin/*", 5)
    sim.tick()
    served = _samples(sandbox, "Storefront", "ErrorRate", STOREFRONT)
    assert served == 2
    rule = _fixed_response_rule(sandbox, storefront, "*", 1)
    lines = _log_lines(sandbox)
    for _ in range(3):
        sim.tick()
    assert _samples(sandbox, "Storefront", "ErrorRate", STOREFRONT) == served
    assert _samples(sandbox, "Storefront", "Requests", STOREFRONT) == served
    assert _log_lines(sandbox) == lines
    final = read_final(storefront, sandbox.endpoint_url, service="storefront", environment="prod")
    assert final.final_values()["maintenance_page"] == {EU: "True"}
    # The inverse deletes the rule: the requests, and the failing region, are back.
    _client(sandbox, "elbv2").delete_rule(RuleArn=rule)
    back = sim.tick().health["storefront"].regions[EU]
    assert back.error_rate is not None and back.error_rate >= 50.0
    assert _samples(sandbox, "Storefront", "ErrorRate", STOREFRONT) == served + 1


def test_a_stage_limit_of_zero_refuses_every_request_at_the_gateway() -> None:
    state = ServiceState(regions={EU: RegionState(bad_shares={}, capacity_units=2, throttle_rate=0.0)})
    region = service_health(state, ServiceFaults()).regions[EU]
    assert (region.requests_per_min, region.error_rate, region.traffic_share) == (0.0, None, 1.0)
    assert region.throttled_per_min == DEMAND_PER_MIN


def test_behind_the_maintenance_page_the_users_are_routed_but_nothing_is_measured() -> None:
    page = RegionState(bad_shares={}, capacity_units=2, maintenance_page=True)
    region = service_health(ServiceState(regions={EU: page}), ServiceFaults()).regions[EU]
    assert (region.requests_per_min, region.error_rate, region.latency_p99_ms) == (0.0, None, None)
    assert (region.traffic_share, region.causes) == (1.0, ("maintenance_page",))
