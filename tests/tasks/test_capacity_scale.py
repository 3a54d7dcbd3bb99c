"""The scale-out sizing rule and the plan's capacity factor, without AWS."""

from __future__ import annotations

import pytest

from tasks.aws import AwsTarget
from tasks.capacity_scale import AtCapError, capacity_factor, plan_scale_out, scale_out
from tasks.catalog import Capacity
from tasks.location import Location
from tasks.plan import Plan


@pytest.mark.parametrize(
    ("before", "capacity", "managed", "after"),
    [
        (
            {"desired": 2, "min": None, "max": None},
            Capacity(max=5, step=1),
            False,
            {"desired": 3, "min": None, "max": None},
        ),
        (
            {"desired": 3, "min": 1, "max": 10},
            Capacity(max=4, step=5),
            True,
            {"desired": 4, "min": 4, "max": 10},
        ),
        (
            {"desired": 2, "min": 1, "max": 2},
            Capacity(max=6, step=2),
            False,
            {"desired": 4, "min": 1, "max": 4},
        ),
        (
            {"desired": 0, "min": 0, "max": 0},
            Capacity(max=3, step=1),
            True,
            {"desired": 1, "min": 1, "max": 1},
        ),
    ],
)
def test_one_step_out_within_the_cap(
    before: dict[str, int | None], capacity: Capacity, managed: bool, after: dict[str, int | None]
) -> None:
    assert scale_out(before, capacity, managed=managed, what="x") == after


@pytest.mark.parametrize("desired", [4, 5])
def test_at_or_above_the_cap_is_refused(desired: int) -> None:
    with pytest.raises(AtCapError, match="already at its cap of 4"):
        scale_out({"desired": desired, "min": 1, "max": 8}, Capacity(max=4), managed=False, what="x")


def test_capacity_factor_is_new_over_old_and_counts_from_one() -> None:
    assert capacity_factor({"desired": 2}, {"desired": 4}) == 2.0
    assert capacity_factor({"desired": 3}, {"desired": 4}) == 1.3333
    assert capacity_factor({"desired": 0}, {"desired": 2}) == 2.0


def test_the_plan_carries_the_factor_and_its_hash_covers_it() -> None:
    plan = plan_scale_out(
        kind="capacity.scale.ecs",
        service="checkout",
        environment="prod",
        aws=AwsTarget(region="us-east-1"),
        location=Location(targets=["ecs:us-east-1:checkout/web"], params={}),
        before={"desired": 2, "min": None, "max": None},
        capacity=Capacity(max=8, step=2),
        managed=False,
    )
    assert (plan.capacity_factor, plan.blast_radius) == (2.0, 0.5)
    assert plan.model_copy(update={"capacity_factor": 3.0}).hash != plan.hash
    assert Plan.model_validate(plan.model_dump(exclude={"hash"})).hash == plan.hash


def test_a_plan_without_a_factor_hashes_as_before_the_field_existed() -> None:
    plan = Plan(
        kind="flags.disable.ssm",
        service="checkout",
        environment="prod",
        aws=AwsTarget(region="us-east-1"),
        targets=["ssm:us-east-1:parameter/x"],
        before={"enabled": True},
        after={"enabled": False},
        blast_radius=1.0,
        summary="s",
    )
    # The hash this plan had before Plan.capacity_factor existed (computed with that Plan).
    assert plan.hash == "f2903ad9daf11919"
