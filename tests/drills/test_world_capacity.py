"""Issue 16's world semantics, per fault kind, on the shop catalog's `orders` (ECS behind an ALB,
autoscaled up to 8 tasks, calling `payments` with a breaker and `inventory` without one): the
signal degrades after the fault and recovers only after the right mitigation, done by plain
boto3, and not after a wrong one. Everything is read back from the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from drills.sandbox import Sandbox
from drills.world import WorldError, seed_world
from drills.world.simulator import WorldSimulator
from tasks.catalog import Catalog, Dependency, load_catalog

CATALOGS = Path(__file__).parents[2] / "drills" / "catalogs"
EU = "eu-west-1"
HEALTHY = 5.0
BREAKER = "/orders/prod/flags/payments-breaker"


@pytest.fixture
def shop(sandbox: Sandbox) -> Catalog:
    sandbox.reset()
    return seed_world(load_catalog(CATALOGS / "shop.yaml"), sandbox.endpoint_url)


def _client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, region_name=EU, endpoint_url=sandbox.endpoint_url)  # type: ignore[call-overload]


def _rate(sim: WorldSimulator) -> float:
    rate = sim.tick().health["orders"].regions[EU].error_rate
    assert rate is not None
    return rate


def _desired(sandbox: Sandbox) -> int:
    found = _client(sandbox, "ecs").describe_services(cluster="shop-prod", services=["orders"])["services"]
    return int(found[0]["desiredCount"])


def _latest(
    sandbox: Sandbox, namespace: str, metric: str, dimensions: dict[str, str], stat: str = "Maximum"
) -> float:
    """The newest second of a series, as CloudWatch holds it (ticks within one second mix: ask
    for the statistic that shows the side the test expects)."""
    now = datetime.now(UTC)
    found = _client(sandbox, "cloudwatch").get_metric_data(
        MetricDataQueries=[{
            "Id": "m", "ReturnData": True,
            "MetricStat": {"Stat": stat, "Period": 1, "Metric": {
                "Namespace": namespace, "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            }},
        }],
        StartTime=now - timedelta(minutes=2), EndTime=now + timedelta(seconds=5),
        ScanBy="TimestampDescending",
    )["MetricDataResults"][0]  # fmt: skip
    assert found["Values"], f"no datapoint for {namespace}/{metric}"
    return float(found["Values"][0])


def _alarm(sandbox: Sandbox, name: str) -> str:
    found = _client(sandbox, "cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(found[0]["StateValue"])


def _logs(sandbox: Sandbox) -> list[str]:
    events = _client(sandbox, "logs").filter_log_events(logGroupName="/ecs/orders")["events"]
    return [str(e["message"]) for e in events]


ORDERS = {"Service": "orders", "Region": EU}


def test_the_seed_builds_what_capacity_and_dependencies_name(shop: Catalog, sandbox: Sandbox) -> None:
    target = _client(sandbox, "application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/shop-prod/orders"]
    )["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in target] == [(2, 8)]
    gateway = shop.entry("orders", "prod").region(EU).api_gateway
    assert gateway is not None and gateway.rest_api != "orders-api"  # resolved to the id
    stage = _client(sandbox, "apigateway").get_stage(restApiId=gateway.rest_api, stageName="prod")
    assert stage["stageName"] == "prod"
    alarms = _client(sandbox, "cloudwatch").describe_alarms(
        AlarmNames=["payments-prod-ErrorRate", "inventory-prod-Availability"]
    )["MetricAlarms"]
    assert {(a["Namespace"], a["MetricName"]) for a in alarms} == {
        ("Payments", "ErrorRate"), ("Inventory", "Availability")
    }  # fmt: skip
    assert _client(sandbox, "ssm").get_parameter(Name=BREAKER)["Parameter"]["Value"] == "off"


def test_a_spike_saturates_until_the_scalable_target_minimum_rises(shop: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(shop, sandbox.endpoint_url)
    before = sim.tick().health["orders"].regions[EU]
    assert before.error_rate is not None and before.error_rate < HEALTHY
    assert _latest(sandbox, "Shop", "CPUUtilization", ORDERS) < 90.0
    sim.spike("orders", 3.0)
    after = sim.tick().health["orders"].regions[EU]
    assert after.error_rate is not None and after.error_rate >= HEALTHY
    assert after.requests_per_min > 2.5 * before.requests_per_min
    assert _latest(sandbox, "Shop", "CPUUtilization", ORDERS) >= 90.0
    assert _latest(sandbox, "Shop", "LatencyP99", ORDERS) >= 800.0
    # Wrong: the desired count alone; the autoscaler holds the service at its minimum.
    _client(sandbox, "ecs").update_service(cluster="shop-prod", service="orders", desiredCount=6)
    assert _rate(sim) >= HEALTHY
    assert _desired(sandbox) == 2
    # Right: raise the scalable target's minimum.
    _client(sandbox, "application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/shop-prod/orders",
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=4,
    )  # fmt: skip
    assert _rate(sim) < HEALTHY
    assert _desired(sandbox) == 4
    cpu = sim.tick().health["orders"].regions[EU].saturation_percent  # this second's datapoints mix ticks
    assert cpu is not None and cpu < 90.0


def test_a_dependency_down_recovers_when_its_breaker_opens(shop: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(shop, sandbox.endpoint_url)
    for _ in range(3):
        sim.tick()
    assert _alarm(sandbox, "payments-prod-ErrorRate") == "OK"
    sim.set_dependency("orders", "payments", down=True)
    rates = [_rate(sim) for _ in range(3)]
    assert min(rates) >= HEALTHY
    assert _latest(sandbox, "Payments", "ErrorRate", {"Dependency": "payments"}) >= HEALTHY
    assert _alarm(sandbox, "payments-prod-ErrorRate") == "ALARM"
    assert any("payments-api" in line and line.startswith("ERROR") for line in _logs(sandbox))
    # Wrong: a rollback-shaped change (a new revision) does not stop the calls.
    _client(sandbox, "ecs").update_service(
        cluster="shop-prod", service="orders", taskDefinition="orders:1", forceNewDeployment=True
    )
    assert _rate(sim) >= HEALTHY
    # Right: the breaker.
    _client(sandbox, "ssm").put_parameter(Name=BREAKER, Value="on", Type="String", Overwrite=True)
    assert _rate(sim) < HEALTHY
    assert any("breaker open for payments-api" in line for line in _logs(sandbox))
    # The dependency itself is still down: its own metric says so.
    assert _latest(sandbox, "Payments", "ErrorRate", {"Dependency": "payments"}) >= HEALTHY


def test_a_dependency_without_a_breaker_is_not_cured_by_another_breaker(
    shop: Catalog, sandbox: Sandbox
) -> None:
    sim = WorldSimulator(shop, sandbox.endpoint_url)
    sim.tick()
    assert _latest(sandbox, "Inventory", "Availability", {"Dependency": "inventory"}) > 99.0
    sim.set_dependency("orders", "inventory", down=True)
    assert _rate(sim) >= HEALTHY
    assert _latest(sandbox, "Inventory", "Availability", {"Dependency": "inventory"}, "Minimum") <= 99.0
    _client(sandbox, "ssm").put_parameter(Name=BREAKER, Value="on", Type="String", Overwrite=True)
    assert _rate(sim) >= HEALTHY
    assert any("inventory-service" in line for line in _logs(sandbox))
    sim.set_dependency("orders", "inventory", down=False)
    assert _rate(sim) < HEALTHY


def test_a_dependency_alarm_needs_a_metric_the_world_can_publish(sandbox: Sandbox) -> None:
    sandbox.reset()
    catalog = load_catalog(CATALOGS / "shop.yaml")
    orders = catalog.entry("orders", "prod")
    broken = orders.model_copy(update={"dependencies": {"payments": Dependency(alarm="payments-health")}})
    with pytest.raises(WorldError, match=r"services\.orders\.prod\.dependencies\.payments\.alarm"):
        seed_world(
            catalog.model_copy(update={"services": {"orders": {"prod": broken}}}), sandbox.endpoint_url
        )
