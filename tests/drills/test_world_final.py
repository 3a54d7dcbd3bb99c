"""``expect.final_state`` for any service of a catalog (not only checkout-shaped ones): read
back from the sandbox whatever the service has, and checked key by key by the scorecard."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from drills import moto_gaps
from drills.sandbox import Sandbox
from drills.scenario import FinalState
from drills.scorecard import final_state_checks
from drills.world import faults as wf
from drills.world import seed_world
from drills.world.final import read_final
from tasks.catalog import load_catalog

CATALOGS = Path(__file__).parents[2] / "drills" / "catalogs"
EU, CENTRAL = "eu-west-1", "eu-central-1"
WORLD = {"world": True}  # regions and flags are the catalog's


def test_an_ecs_only_service_and_its_breaker_flag(sandbox: Sandbox) -> None:
    sandbox.reset()
    catalog = seed_world(load_catalog(CATALOGS / "shop.yaml"), sandbox.endpoint_url)
    scaling = boto3.client("application-autoscaling", region_name=EU, endpoint_url=sandbox.endpoint_url)
    scaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/shop-prod/orders",
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=4,
    )  # fmt: skip
    ssm = boto3.client("ssm", region_name=EU, endpoint_url=sandbox.endpoint_url)
    ssm.put_parameter(Name="/orders/prod/flags/payments-breaker", Value="on", Type="String", Overwrite=True)
    final = read_final(catalog, sandbox.endpoint_url, service="orders", environment="prod")
    expected = FinalState.model_validate(
        {"ecs_revision": {EU: 1}, "desired_count": {EU: 2}, "scalable_min": {EU: 4},
         "flag": {"payments-breaker": True}},
        context=WORLD,
    )  # fmt: skip
    checks = final_state_checks(expected, final)
    assert [(c.name, c.actual, c.ok) for c in checks] == [
        (f"final ecs_revision {EU}", "1", True),
        (f"final desired_count {EU}", "2", True),
        (f"final scalable_min {EU}", "4", True),
        ("final flag payments-breaker", "on", True),
    ]
    wrong = final_state_checks(FinalState.model_validate({"lambda_version": {EU: 1}}, context=WORLD), final)
    assert [(c.actual, c.ok) for c in wrong] == [("None", False)]  # orders has no alias


def test_a_lambda_service_with_appconfig_flags(sandbox: Sandbox) -> None:
    sandbox.reset()
    catalog = seed_world(load_catalog(CATALOGS / "quotes.yaml"), sandbox.endpoint_url)
    entry = catalog.entry("quotes", "prod")
    wf.bad_lambda(sandbox.target(CENTRAL), entry.region(CENTRAL))
    wf.flag_on(sandbox.target(), entry, "instant-quotes")
    final = read_final(catalog, sandbox.endpoint_url, service="quotes", environment="prod")
    expected = FinalState.model_validate(
        {"lambda_version": {CENTRAL: 2}, "flag": {"instant-quotes": "on", "partner-rates": "off"}},
        context=WORLD,
    )
    assert all(c.ok for c in final_state_checks(expected, final)), final_state_checks(expected, final)
    assert final.regions[CENTRAL].ecs_revision is None


def test_an_asg_reads_its_sizes_and_launch_template(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto_gaps, "REFRESH_SECONDS", 0.2)
    sandbox.reset()
    catalog = seed_world(load_catalog(CATALOGS / "checkout.yaml"), sandbox.endpoint_url)
    wf.bad_launch_template(sandbox.target(EU), catalog.entry("checkout", "prod").region(EU))
    final = read_final(catalog, sandbox.endpoint_url, service="checkout", environment="prod")
    assert (final.regions[EU].launch_template_version, final.regions[EU].asg_desired) == ("2", 2)
    assert final.regions["us-east-1"].launch_template_version == "1"
    assert final.regions[EU].route53_weight == 100
