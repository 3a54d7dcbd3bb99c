"""Each kind recover undoes locates its resources from the catalog alone (tasks.location): a
recorded plan naming anything else is a mismatch, which recover refuses (flows.recorded_plans)."""

from __future__ import annotations

import pytest

from flows.recorded_plans import LOCATORS
from tasks.aws import AwsTarget
from tasks.catalog import (
    AlbListener,
    ApiGatewayStage,
    Capacity,
    Catalog,
    CatalogError,
    EcsService,
    LambdaAlias,
    RegionResources,
    Route53Weighted,
)
from tasks.location import Location
from tasks.plan import JsonDict, Plan
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, WEST

TG = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/1"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/1/2"
CATALOG = seed.catalog(
    {
        EAST: RegionResources(
            ecs=EcsService(cluster="c", service="s"),
            lambda_alias=LambdaAlias(function="f", alias="live"),
            alb=AlbListener(listener_arn=LISTENER, target_group_arns=[TG]),
            asg_name="g",
            capacity=Capacity(max=4),
            api_gateway=ApiGatewayStage(rest_api="abc", stage="prod", emergency_rate=5, emergency_burst=2),
        ),
        WEST: RegionResources(),
    },
    route53=Route53Weighted(zone_id="Z1", record_name="api.", set_identifiers={EAST: "e", WEST: "w"}),
)
AWS = AwsTarget(region=EAST)


def _plan(kind: str, location: Location, state: JsonDict | None = None) -> Plan:
    state = state or {"v": 1}
    return Plan(
        kind=kind, service=SERVICE, environment=ENV, aws=AWS, targets=location.targets, before=state,
        after=state, blast_radius=0.0, summary=kind, params={**location.params, "step": 5},
    )  # fmt: skip


def _state(location: Location) -> JsonDict | None:
    return None if location.state_keys is None else dict.fromkeys(location.state_keys, 1)


@pytest.mark.parametrize("kind", sorted(LOCATORS))
def test_a_plan_naming_the_catalogs_resources_matches_and_one_naming_another_does_not(kind: str) -> None:
    location = LOCATORS[kind](CATALOG, SERVICE, ENV, AWS)
    plan = _plan(kind, location, _state(location))
    assert location.mismatch(plan) is None
    other_target = plan.model_copy(update={"targets": ["elsewhere"]})
    assert "targets ['elsewhere']" in str(location.mismatch(other_target))
    key = sorted(location.params)[0]
    other_param = plan.model_copy(update={"params": {**plan.params, key: "elsewhere"}})
    assert f"params {key}='elsewhere'" in str(location.mismatch(other_param))


def test_weights_may_name_only_catalogued_target_groups() -> None:
    location = LOCATORS["traffic.shift.alb"](CATALOG, SERVICE, ENV, AWS)
    plan = _plan("traffic.shift.alb", location, {TG: 0, "arn:other-tg": 100})
    assert "state keys ['arn:other-tg']" in str(location.mismatch(plan))


@pytest.mark.parametrize("kind", sorted(set(LOCATORS) - {"traffic.shift.route53"}))
def test_a_region_the_catalog_gives_no_such_resource_is_a_catalog_error(kind: str) -> None:
    with pytest.raises(CatalogError):
        LOCATORS[kind](CATALOG, SERVICE, ENV, AwsTarget(region=WEST))


def test_without_a_route53_record_the_route53_kind_is_a_catalog_error() -> None:
    bare = Catalog.model_validate(
        {"services": {SERVICE: {ENV: CATALOG.entry(SERVICE, ENV).model_copy(update={"route53": None})}}}
    )
    with pytest.raises(CatalogError, match="no route53 weighted record"):
        LOCATORS["traffic.shift.route53"](bare, SERVICE, ENV, AWS)
