"""``capacity.scale.asg``: desired capacity, MinSize where scaling policies manage the group, InService."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget
from tasks.capacity import plan_asg_scale_out
from tasks.capacity_scale import AtCapError
from tasks.catalog import Capacity, CatalogError, RegionResources
from tasks.plan import Plan
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE


def _plan(aws: AwsTarget, name: str | None, capacity: Capacity | None) -> Plan:
    cat = seed.catalog({EAST: RegionResources(asg_name=name, capacity=capacity)})
    return plan_asg_scale_out(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)


def test_without_policies_the_minimum_stays(aws: AwsTarget) -> None:
    name = sc.seed_asg_capacity(desired=2, max_size=4, policy=False)
    plan = _plan(aws, name, Capacity(max=4, step=1))
    apply_plan(plan)
    assert sc.observe_asg(name) == {"desired": 3, "min": 1, "max": 4, "in_service": 3}


def test_with_policies_the_minimum_and_maximum_rise_and_the_inverse_restores_them(aws: AwsTarget) -> None:
    name = sc.seed_asg_capacity(desired=2, max_size=2, policy=True)
    plan = _plan(aws, name, Capacity(max=8, step=2))
    assert plan.capacity_factor == 2.0
    applied = apply_plan(plan)
    assert sc.observe_asg(name) == {"desired": 4, "min": 4, "max": 4, "in_service": 4}
    undo = inverse_plan(applied)
    assert undo.capacity_factor == 0.5  # a scale-in: the policy must not read it as doubling
    apply_plan(undo)
    assert sc.observe_asg(name) == {"desired": 2, "min": 1, "max": 2, "in_service": 2}


def test_at_the_cap_nothing_is_planned(aws: AwsTarget) -> None:
    name = sc.seed_asg_capacity(desired=3, max_size=4, policy=False)
    with pytest.raises(AtCapError, match="at its cap of 3"):
        _plan(aws, name, Capacity(max=3))
    assert sc.observe_asg(name)["desired"] == 3


def test_a_region_without_a_group_is_a_catalog_error(aws: AwsTarget) -> None:
    with pytest.raises(CatalogError, match="no Auto Scaling group"):
        _plan(aws, None, Capacity(max=3))
