"""The world simulator, per fault kind: the signal degrades after injection and recovers only
after the right mitigation, not after a wrong one (read from the sandbox every tick). Plus the
production-like telemetry: batched puts, alarms from datapoints with lag, no data when drained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from drills import moto_gaps
from drills.sandbox import Sandbox
from drills.world import faults as wf
from drills.world import seed_world
from drills.world.simulator import WorldSimulator, WorldTick
from tasks.actions import apply_plan
from tasks.catalog import Catalog, load_catalog
from tasks.flags import plan_flag_change
from tasks.rollback_asg import plan_asg_rollback
from tasks.rollback_ecs import plan_ecs_rollback
from tasks.rollback_lambda import plan_lambda_rollback
from tasks.traffic_route53 import plan_route53_shift

CATALOGS = Path(__file__).parents[2] / "drills" / "catalogs"
EU, US, CENTRAL = "eu-west-1", "us-east-1", "eu-central-1"
HEALTHY = 5.0


@pytest.fixture
def checkout(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    monkeypatch.setattr(moto_gaps, "REFRESH_SECONDS", 0.2)
    sandbox.reset()
    return seed_world(load_catalog(CATALOGS / "checkout.yaml"), sandbox.endpoint_url)


@pytest.fixture
def quotes(sandbox: Sandbox) -> Catalog:
    sandbox.reset()
    return seed_world(load_catalog(CATALOGS / "quotes.yaml"), sandbox.endpoint_url)


def _rate(tick: WorldTick, service: str, region: str) -> float | None:
    return tick.health[service].regions[region].error_rate


def _bad(sim: WorldSimulator, service: str, region: str) -> bool:
    rate = _rate(sim.tick(), service, region)
    return rate is not None and rate >= HEALTHY


def _check(
    sim: WorldSimulator,
    service: str,
    region: str,
    *,
    inject: Callable[[], object],
    wrong: Callable[[], object],
    right: Callable[[], object],
) -> None:
    assert not _bad(sim, service, region), "healthy before the fault"
    inject()
    assert _bad(sim, service, region), "degraded after the fault"
    wrong()
    assert _bad(sim, service, region), "a wrong mitigation does not recover it"
    right()
    assert not _bad(sim, service, region), "the right mitigation recovers it"


def _ecs_rollback(catalog: Catalog, sandbox: Sandbox, region: str) -> None:
    plan = plan_ecs_rollback(
        catalog=catalog, service="checkout", environment="prod", regions=[region], aws=sandbox.target()
    )
    apply_plan(plan)


def _flag(catalog: Catalog, sandbox: Sandbox, service: str, flag: str, *, enabled: bool) -> None:
    plan = plan_flag_change(
        catalog=catalog, service=service, environment="prod", flag=flag, enabled=enabled, aws=sandbox.target()
    )
    apply_plan(plan)


def test_bad_deploy(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    res = checkout.entry("checkout", "prod").region(EU)
    _check(
        sim, "checkout", EU,
        inject=lambda: wf.bad_deploy(sandbox.target(EU), res),
        wrong=lambda: _flag(checkout, sandbox, "checkout", "one-click-buy", enabled=True),
        right=lambda: _ecs_rollback(checkout, sandbox, EU),
    )  # fmt: skip
    assert not _bad(sim, "checkout", US)  # the other region was never hit


def test_bad_launch_template(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    us = checkout.entry("checkout", "prod").region(US)
    _check(
        sim, "checkout", US,
        inject=lambda: wf.bad_launch_template(sandbox.target(US), us),
        wrong=lambda: _ecs_rollback_noise(checkout, sandbox),
        right=lambda: apply_plan(plan_asg_rollback(
            catalog=checkout, service="checkout", environment="prod", regions=[US], aws=sandbox.target()
        )),
    )  # fmt: skip


def _ecs_rollback_noise(catalog: Catalog, sandbox: Sandbox) -> None:
    """A healthy ECS release in the same region: a change, but not to what is broken."""
    wf.noise_deploy(sandbox.target(US), catalog.entry("checkout", "prod").region(US))


def test_bad_flag_in_ssm(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    sim.harm_flag("checkout", "new-pricing-engine")  # its code is broken; it is still off
    _check(
        sim, "checkout", US,
        inject=lambda: wf.flag_on(sandbox.target(), checkout.entry("checkout", "prod"), "new-pricing-engine"),
        wrong=lambda: _flag(checkout, sandbox, "checkout", "one-click-buy", enabled=True),
        right=lambda: _flag(checkout, sandbox, "checkout", "new-pricing-engine", enabled=False),
    )  # fmt: skip


def test_bad_flag_in_appconfig_and_bad_lambda(quotes: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(quotes, sandbox.endpoint_url)
    sim.harm_flag("quotes", "instant-quotes")
    _check(
        sim, "quotes", CENTRAL,
        inject=lambda: wf.flag_on(sandbox.target(), quotes.entry("quotes", "prod"), "instant-quotes"),
        wrong=lambda: _flag(quotes, sandbox, "quotes", "partner-rates", enabled=True),
        right=lambda: _flag(quotes, sandbox, "quotes", "instant-quotes", enabled=False),
    )  # fmt: skip
    _check(
        sim, "quotes", CENTRAL,
        inject=lambda: wf.bad_lambda(sandbox.target(CENTRAL), quotes.entry("quotes", "prod").region(CENTRAL)),
        wrong=lambda: _flag(quotes, sandbox, "quotes", "partner-rates", enabled=False),
        right=lambda: apply_plan(
            plan_lambda_rollback(catalog=quotes, service="quotes", environment="prod", aws=sandbox.target())
        ),
    )  # fmt: skip


def _drain(catalog: Catalog, sandbox: Sandbox, region: str) -> None:
    plan = plan_route53_shift(
        catalog=catalog, service="checkout", environment="prod", away_from=region, aws=sandbox.target()
    )
    apply_plan(plan)


def test_region_degraded_recovers_for_users_when_drained(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    assert sim.tick().health["checkout"].user_error_rate < HEALTHY
    sim.degrade("checkout", EU, 40.0)
    assert sim.tick().health["checkout"].user_error_rate >= HEALTHY
    _ecs_noise_then(checkout, sandbox, EU)
    assert sim.tick().health["checkout"].user_error_rate >= HEALTHY  # a release is no cure
    _drain(checkout, sandbox, EU)
    tick = sim.tick()
    assert tick.health["checkout"].user_error_rate < HEALTHY
    assert _rate(tick, "checkout", EU) is None  # drained: no datapoint, never 0 %


def _ecs_noise_then(catalog: Catalog, sandbox: Sandbox, region: str) -> None:
    wf.noise_deploy(sandbox.target(region), catalog.entry("checkout", "prod").region(region))


def test_dependency_down_is_cured_by_nothing_but_the_dependency(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    sim.tick()
    sim.set_dependency("checkout", "payments", down=True)
    assert sim.tick().health["checkout"].user_error_rate >= HEALTHY
    _drain(checkout, sandbox, EU)
    assert sim.tick().health["checkout"].user_error_rate >= HEALTHY
    sim.set_dependency("checkout", "payments", down=False)
    assert sim.tick().health["checkout"].user_error_rate < HEALTHY


def test_traffic_spike_saturates_until_capacity_is_added(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    sim.tick()
    sim.spike("checkout", 3.0, EU)
    assert "saturated" in sim.tick().health["checkout"].regions[EU].causes
    _flag(checkout, sandbox, "checkout", "one-click-buy", enabled=True)  # wrong
    assert _bad(sim, "checkout", EU)
    res = checkout.entry("checkout", "prod").region(EU)
    assert res.ecs is not None and res.asg_name is not None
    ecs = boto3.client("ecs", region_name=EU, endpoint_url=sandbox.endpoint_url)
    ecs.update_service(cluster=res.ecs.cluster, service=res.ecs.service, desiredCount=8)
    asg = boto3.client("autoscaling", region_name=EU, endpoint_url=sandbox.endpoint_url)
    asg.update_auto_scaling_group(AutoScalingGroupName=res.asg_name, MaxSize=8, DesiredCapacity=8)
    assert not _bad(sim, "checkout", EU)


def test_noise_deploy_is_harmless(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    sim.tick()
    _ecs_noise_then(checkout, sandbox, US)
    assert not _bad(sim, "checkout", US) and not _bad(sim, "checkout", EU)


def _alarm(sandbox: Sandbox, name: str, region: str = EU) -> str:
    cloudwatch = boto3.client("cloudwatch", region_name=region, endpoint_url=sandbox.endpoint_url)
    return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def test_alarms_fire_resolve_and_refire_from_datapoints(checkout: Catalog, sandbox: Sandbox) -> None:
    """2 of 3 one-second periods breaching, evaluated one period late: the first bad datapoint
    does not fire the alarm, the second (read a tick later) does; recovery resolves it the same way."""
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    alarm = f"checkout-prod-{EU}-ErrorRate"
    for _ in range(3):
        sim.tick()
    assert _alarm(sandbox, alarm) == "OK"
    sim.degrade("checkout", EU, 40.0)
    seen = [sim.tick().alarms[alarm] for _ in range(3)]
    assert seen == ["OK", "OK", "ALARM"]  # bad at ticks 1 and 2; evaluated late, fires at 3
    sim.heal("checkout")
    seen = [sim.tick().alarms[alarm] for _ in range(4)]
    assert seen == ["ALARM", "ALARM", "OK", "OK"]
    sim.degrade("checkout", EU, 40.0)
    assert [sim.tick().alarms[alarm] for _ in range(3)][-1] == "ALARM"  # re-fires
    assert _alarm(sandbox, alarm) == "ALARM"


def test_drained_region_alarms_have_insufficient_data(checkout: Catalog, sandbox: Sandbox) -> None:
    sim = WorldSimulator(checkout, sandbox.endpoint_url)
    sim.tick()
    _drain(checkout, sandbox, EU)
    for _ in range(4):
        tick = sim.tick()
    assert tick.alarms[f"checkout-prod-{EU}-ErrorRate"] == "INSUFFICIENT_DATA"
    assert tick.alarms[f"checkout-prod-{US}-ErrorRate"] == "OK"


def test_one_put_per_region_and_namespace(checkout: Catalog, sandbox: Sandbox) -> None:
    assert WorldSimulator(checkout, sandbox.endpoint_url).tick().metric_puts == 2


def test_an_ecs_service_serves_its_target_group(sandbox: Sandbox) -> None:
    """moto registers no ECS tasks: the group the service is attached to still serves."""
    sandbox.reset()
    shop = seed_world(load_catalog(CATALOGS / "shop.yaml"), sandbox.endpoint_url)
    tick = WorldSimulator(shop, sandbox.endpoint_url).tick()
    assert tick.health["orders"].regions[EU].causes == ()
    # One per region and namespace: Shop, Payments and Inventory (orders' dependencies) in
    # eu-west-1, Quotes in eu-central-1.
    assert tick.metric_puts == 4
