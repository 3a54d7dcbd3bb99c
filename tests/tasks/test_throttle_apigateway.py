"""Emergency stage throttling: lowered to the catalog's level, restored exactly (also "none set"),
and the REST API named in the catalog resolved to its id."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget
from tasks.catalog import ApiGatewayStage, Catalog, CatalogError, RegionResources
from tasks.catalog_resolve import CatalogResolveError, resolve_catalog
from tasks.plan import ActionError, Plan
from tasks.throttle_apigateway import plan_throttle
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE, WEST


def _catalog(stage: ApiGatewayStage | None) -> Catalog:
    return seed.catalog({EAST: RegionResources(api_gateway=stage)})


def _plan(aws: AwsTarget, stage: ApiGatewayStage) -> Plan:
    return plan_throttle(catalog=_catalog(stage), service=SERVICE, environment=ENV, region=EAST, aws=aws)


def test_no_throttling_set_is_throttled_then_restored_to_none(aws: AwsTarget) -> None:
    stage = sc.seed_stage()
    plan = _plan(aws, stage)
    assert (plan.before, plan.after) == (
        {"rate_limit": None, "burst_limit": None},
        {"rate_limit": 50.0, "burst_limit": 20},
    )
    applied = apply_plan(plan)
    assert sc.observe_stage(stage.rest_api) == {"rate_limit": 50.0, "burst_limit": 20}
    apply_plan(inverse_plan(applied))
    assert sc.observe_stage(stage.rest_api) == {"rate_limit": None, "burst_limit": None}


def test_a_limit_already_lower_is_kept(aws: AwsTarget) -> None:
    stage = sc.seed_stage(rate=5.0, burst=100)
    plan = _plan(aws, stage)
    assert plan.after == {"rate_limit": 5.0, "burst_limit": 20}
    applied = apply_plan(plan)
    assert sc.observe_stage(stage.rest_api) == {"rate_limit": 5.0, "burst_limit": 20}
    apply_plan(inverse_plan(applied))
    assert sc.observe_stage(stage.rest_api) == {"rate_limit": 5.0, "burst_limit": 100}


def test_a_stage_already_at_or_below_the_emergency_level_is_refused(aws: AwsTarget) -> None:
    stage = sc.seed_stage(rate=50.0, burst=10)
    with pytest.raises(ActionError, match="already throttled at or below"):
        _plan(aws, stage)


def test_no_stage_in_the_catalog(aws: AwsTarget) -> None:
    with pytest.raises(CatalogError, match="no api_gateway stage"):
        plan_throttle(catalog=_catalog(None), service=SERVICE, environment=ENV, region=EAST, aws=aws)


def test_the_rest_api_is_resolved_by_name(aws: AwsTarget) -> None:
    stage = sc.seed_stage()
    named = stage.model_copy(update={"rest_api": "checkout-api"})
    resolved = resolve_catalog(_catalog(named), lambda region: aws.in_region(region))
    api = resolved.entry(SERVICE, ENV).region(EAST).api_gateway
    assert api is not None and api.rest_api == stage.rest_api
    assert _plan(aws, api).targets == [f"apigateway:{EAST}:/restapis/{stage.rest_api}/stages/prod"]


def test_an_unknown_rest_api_name_is_reported_with_its_field(aws: AwsTarget) -> None:
    sc.seed_stage()
    named = ApiGatewayStage(rest_api="orders-api", stage="prod", emergency_rate=1, emergency_burst=1)
    cat = seed.catalog({EAST: RegionResources(api_gateway=named), WEST: RegionResources()})
    with pytest.raises(CatalogResolveError, match=r"regions\.us-east-1\.api_gateway\.rest_api: no REST API"):
        resolve_catalog(cat, lambda region: aws.in_region(region))
