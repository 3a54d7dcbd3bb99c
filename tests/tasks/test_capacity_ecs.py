"""``capacity.scale.ecs``: the desired count, the scalable target's minimum, the running count."""

from __future__ import annotations

from typing import Any

import pytest

from tasks import capacity_scale
from tasks.actions import apply_plan, inverse_plan, verify_plan
from tasks.aws import AwsTarget, client
from tasks.capacity import plan_ecs_scale_out
from tasks.capacity_scale import AtCapError, CapacityNotServingError
from tasks.catalog import Capacity, CatalogError, EcsService, RegionResources
from tasks.plan import PartialApplyError
from tests.faults import ACCESS_DENIED, canned, inject_faults
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client

WEB = EcsService(cluster="checkout", service="web")


def _catalog(capacity: Capacity | None) -> Any:
    return seed.catalog({EAST: RegionResources(ecs=WEB, capacity=capacity)})


def _plan(aws: AwsTarget, capacity: Capacity | None = None) -> Any:
    cat = _catalog(capacity or Capacity(max=5, step=1))
    return plan_ecs_scale_out(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)


def test_unmanaged_service_gets_more_tasks_and_runs_them(aws: AwsTarget) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=None)
    plan = _plan(aws)
    assert (plan.before, plan.after) == (
        {"desired": 2, "min": None, "max": None},
        {"desired": 3, "min": None, "max": None},
    )
    assert plan.capacity_factor == 1.5
    apply_plan(plan)
    assert sc.observe_ecs() == {"desired": 3, "running": 3, "bounds": (None, None)}
    assert verify_plan(plan)


def test_managed_service_raises_the_scalable_targets_minimum_and_the_inverse_restores_it(
    aws: AwsTarget,
) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=(2, 3))
    plan = _plan(aws, Capacity(max=6, step=2))
    applied = apply_plan(plan)
    assert sc.observe_ecs() == {"desired": 4, "running": 4, "bounds": (4, 4)}
    apply_plan(inverse_plan(applied))
    assert sc.observe_ecs() == {"desired": 2, "running": 2, "bounds": (2, 3)}


def test_never_above_the_cap(aws: AwsTarget) -> None:
    sc.seed_ecs_capacity(desired=3, scalable=None)
    assert _plan(aws, Capacity(max=4, step=3)).after["desired"] == 4
    apply_plan(_plan(aws, Capacity(max=4, step=3)))
    with pytest.raises(AtCapError, match="at its cap of 4"):
        _plan(aws, Capacity(max=4, step=3))
    assert sc.observe_ecs()["desired"] == 4


def test_no_cap_in_the_catalog_is_a_catalog_error(aws: AwsTarget) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=None)
    cat = seed.catalog({EAST: RegionResources(ecs=WEB)})
    with pytest.raises(CatalogError, match="no capacity cap"):
        plan_ecs_scale_out(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)


def test_update_service_denied_puts_the_minimum_back(aws: AwsTarget) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=(2, 3))
    plan = _plan(aws, Capacity(max=6, step=2))
    with (
        inject_faults(client("ecs", aws), "ecs.UpdateService", [ACCESS_DENIED]),
        pytest.raises(PartialApplyError, match="undone: \\['scalable target minimum 2→4'\\]"),
    ):
        apply_plan(plan)
    assert sc.observe_ecs() == {"desired": 2, "running": 2, "bounds": (2, 3)}


def test_tasks_that_do_not_start_are_reported(aws: AwsTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    sc.seed_ecs_capacity(desired=2, scalable=None)
    plan = _plan(aws)
    monkeypatch.setattr(capacity_scale, "SERVING_TIMEOUT_SECONDS", -1.0)

    def stuck_at_two(params: dict[str, Any]) -> dict[str, Any]:
        found = raw_client("ecs", EAST).describe_services(**params)
        found["services"][0]["runningCount"] = 2
        return {k: v for k, v in found.items() if k != "ResponseMetadata"}

    with (
        canned(client("ecs", aws), "ecs.DescribeServices", stuck_at_two),
        pytest.raises(CapacityNotServingError) as err,
    ):
        apply_plan(plan)
    assert "2 running" in str(err.value) and "desired 3" in str(err.value)
    assert sc.observe_ecs()["desired"] == 3 == err.value.live_state["desired"]  # type: ignore[index]


def test_verify_reads_the_running_count_not_only_the_desired_count(aws: AwsTarget) -> None:
    """Tasks that stop after the scale-out (a crash loop) leave the desired count right and the
    service short: verify says so, while the plan's state still reads as applied (no drift)."""
    sc.seed_ecs_capacity(desired=2, scalable=None)
    plan = _plan(aws)
    apply_plan(plan)

    def one_crashed(params: dict[str, Any]) -> dict[str, Any]:
        found = raw_client("ecs", EAST).describe_services(**params)
        found["services"][0]["runningCount"] = 2
        return {k: v for k, v in found.items() if k != "ResponseMetadata"}

    with canned(client("ecs", aws), "ecs.DescribeServices", one_crashed):
        assert not verify_plan(plan)
        assert apply_plan(plan).changed is False  # the state is at after: nothing re-sent
    assert verify_plan(plan)
