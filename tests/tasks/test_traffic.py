"""Traffic shifts: step sizes, the never-all-zero rule, catalog checks, gradual return."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan
from tasks.aws import AwsTarget
from tasks.catalog import CatalogError, RegionResources
from tasks.plan import ActionError
from tasks.traffic import plan_alb_shift, plan_lambda_shift, plan_route53_shift
from tasks.weights import ShiftError
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, WEST, raw_client


def _route53_weights(zone_id: str) -> dict[str, int]:
    sets = raw_client("route53", EAST).list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {rr["SetIdentifier"]: rr["Weight"] for rr in sets if "SetIdentifier" in rr}


def test_route53_step_moves_at_most_step_points(aws: AwsTarget) -> None:
    record = seed.seed_route53({EAST: 100, WEST: 100})
    plan = plan_route53_shift(
        catalog=seed.catalog(route53=record),
        service=SERVICE,
        environment=ENV,
        away_from=EAST,
        step=30,
        aws=aws,
    )
    assert plan.after == {EAST: 70, WEST: 130}
    assert plan.blast_radius == 0.15
    apply_plan(plan)
    assert _route53_weights(record.zone_id) == {EAST: 70, WEST: 130}
    rr = raw_client("route53", EAST).list_resource_record_sets(HostedZoneId=record.zone_id)
    east = next(r for r in rr["ResourceRecordSets"] if r.get("SetIdentifier") == EAST)
    assert (east["TTL"], east["ResourceRecords"]) == (60, [{"Value": f"lb.{EAST}.example.com"}])


def test_route53_gradual_return_reaches_the_target_in_steps(aws: AwsTarget) -> None:
    record = seed.seed_route53({EAST: 0, WEST: 200})
    cat = seed.catalog(route53=record)
    seen = []
    for _ in range(5):
        plan = plan_route53_shift(
            catalog=cat, service=SERVICE, environment=ENV, weights={EAST: 100, WEST: 100}, step=40, aws=aws
        )
        if plan.is_noop:
            break
        apply_plan(plan)
        seen.append(_route53_weights(record.zone_id)[EAST])
    assert seen == [40, 80, 100]


def test_route53_refuses_all_zero(aws: AwsTarget) -> None:
    record = seed.seed_route53({EAST: 100, WEST: 0})
    with pytest.raises(ShiftError, match="every weight to zero"):
        plan_route53_shift(
            catalog=seed.catalog(route53=record), service=SERVICE, environment=ENV, weights={EAST: 0}, aws=aws
        )
    assert _route53_weights(record.zone_id) == {EAST: 100, WEST: 0}


def test_route53_catalog_errors(aws: AwsTarget) -> None:
    record = seed.seed_route53({EAST: 100, WEST: 0})
    cat = seed.catalog(route53=record)
    with pytest.raises(CatalogError, match="unknown service 'nope'"):
        plan_route53_shift(catalog=cat, service="nope", environment=ENV, away_from=EAST, aws=aws)
    with pytest.raises(CatalogError, match="eu-west-1"):
        plan_route53_shift(catalog=cat, service=SERVICE, environment=ENV, away_from="eu-west-1", aws=aws)
    with pytest.raises(CatalogError, match="no route53"):
        plan_route53_shift(catalog=seed.catalog(), service=SERVICE, environment=ENV, away_from=EAST, aws=aws)
    with pytest.raises(ActionError, match="exactly one"):
        plan_route53_shift(catalog=cat, service=SERVICE, environment=ENV, aws=aws)


def test_route53_missing_record_is_an_action_error(aws: AwsTarget) -> None:
    record = seed.seed_route53({EAST: 100, WEST: 0})
    broken = record.model_copy(update={"set_identifiers": {EAST: EAST, WEST: "gone"}})
    with pytest.raises(ActionError, match=r"weighted records \['gone'\] do not exist"):
        plan_route53_shift(
            catalog=seed.catalog(route53=broken), service=SERVICE, environment=ENV, away_from=EAST, aws=aws
        )


def test_alb_step_and_zero_rules(aws: AwsTarget) -> None:
    listener = seed.seed_alb(EAST, {"blue": 100, "green": 0})
    blue, green = listener.target_group_arns
    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    plan = plan_alb_shift(
        catalog=cat,
        service=SERVICE,
        environment=ENV,
        region=EAST,
        weights={blue: 0, green: 100},
        step=20,
        aws=aws,
    )
    assert plan.after == {blue: 80, green: 20} and plan.blast_radius == 0.2
    apply_plan(plan)
    action = raw_client("elbv2", EAST).describe_listeners(ListenerArns=[listener.listener_arn])["Listeners"][
        0
    ]
    groups = action["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert {g["TargetGroupArn"]: g["Weight"] for g in groups} == {blue: 80, green: 20}
    with pytest.raises(ShiftError, match="every weight to zero"):
        plan_alb_shift(
            catalog=cat, service=SERVICE, environment=ENV, region=EAST, weights={blue: 0, green: 0}, aws=aws
        )
    with pytest.raises(CatalogError, match="not in the catalog"):
        plan_alb_shift(
            catalog=cat, service=SERVICE, environment=ENV, region=EAST, weights={"arn:other": 1}, aws=aws
        )


def test_alb_listener_forwarding_outside_the_catalog_is_refused(aws: AwsTarget) -> None:
    listener = seed.seed_alb(EAST, {"blue": 100, "green": 0})
    narrowed = listener.model_copy(update={"target_group_arns": listener.target_group_arns[:1]})
    with pytest.raises(ActionError, match="uncatalogued target groups"):
        plan_alb_shift(
            catalog=seed.catalog({EAST: RegionResources(alb=narrowed)}),
            service=SERVICE,
            environment=ENV,
            region=EAST,
            weights={narrowed.target_group_arns[0]: 100},
            aws=aws,
        )


def test_lambda_shift_steps_and_limits(aws: AwsTarget) -> None:
    alias = seed.seed_lambda(EAST, versions=3, alias_version="1")
    cat = seed.catalog({EAST: RegionResources(lambda_alias=alias)})
    plan = plan_lambda_shift(
        catalog=cat,
        service=SERVICE,
        environment=ENV,
        region=EAST,
        weights={"1": 0, "2": 100},
        step=10,
        aws=aws,
    )
    assert plan.after == {"1": 90, "2": 10}
    apply_plan(plan)
    got = raw_client("lambda", EAST).get_alias(FunctionName="checkout-fn", Name="live")
    assert (got["FunctionVersion"], got["RoutingConfig"]["AdditionalVersionWeights"]) == ("1", {"2": 0.1})
    with pytest.raises(ShiftError, match="1 or 2 versions"):
        plan_lambda_shift(
            catalog=cat, service=SERVICE, environment=ENV, region=EAST, weights={"2": 50, "3": 20}, aws=aws
        )
    with pytest.raises(CatalogError, match="'us-west-2' is not in the catalog"):
        plan_lambda_shift(
            catalog=cat, service=SERVICE, environment=ENV, region=WEST, weights={"2": 100}, aws=aws
        )
