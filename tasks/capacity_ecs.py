"""``capacity.scale.ecs``: add tasks to a region's ECS service, within the catalog's cap.

State shape: ``{"desired": n, "min": m, "max": M}`` (tasks.capacity_scale); ``min``/``max`` are
the bounds of the Application Auto Scaling target ``service/CLUSTER/SERVICE``
(``ecs:service:DesiredCount``), None when none is registered. With a target, the apply takes
two steps, undone together on failure: raise the target's minimum (and maximum if needed), then
the service's desired count. The inverse puts both back.
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.capacity_scale import plan_scale_out, region_capacity, wait_serving
from tasks.catalog import Catalog, CatalogError, EcsService
from tasks.location import Location
from tasks.plan import JsonDict, Plan
from tasks.rollback_ecs import describe_service, ecs_resource, update_service
from tasks.steps import Step, aws_call, run_steps

KIND = "capacity.scale.ecs"
IAM_ACTIONS = (
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
)
DIMENSION = "ecs:service:DesiredCount"


class EcsCapacity:
    """The desired count of one ECS service and the bounds of its scalable target."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        svc = EcsService.model_validate(params["ecs"])
        target = _scalable_target(kind, aws, svc)
        return {
            "desired": int(describe_service(kind, aws, svc)["desiredCount"]),
            "min": None if target is None else int(target["MinCapacity"]),
            "max": None if target is None else int(target["MaxCapacity"]),
        }

    def write(self, plan: Plan) -> list[str]:
        svc = EcsService.model_validate(plan.params["ecs"])
        before, after = plan.before, plan.after
        steps = []
        if (after["min"], after["max"]) != (before["min"], before["max"]) and after["min"] is not None:
            steps.append(
                Step(
                    f"scalable target minimum {before['min']}→{after['min']}",
                    lambda: _set_bounds(plan.kind, plan.aws, svc, after),
                    lambda: _set_bounds(plan.kind, plan.aws, svc, before),
                )
            )
        if after["desired"] != before["desired"]:
            steps.append(
                Step(
                    f"desired count {before['desired']}→{after['desired']}",
                    lambda: _set_desired(plan.kind, plan.aws, svc, after["desired"]),
                    lambda: _set_desired(plan.kind, plan.aws, svc, before["desired"]),
                )
            )
        ids = run_steps(plan.kind, steps)
        resource = ecs_resource(plan.aws, svc)
        wait_serving(plan.kind, resource, int(after["desired"]), lambda: self._running(plan))
        return ids

    def serving(self, plan: Plan) -> bool:
        """The service runs as many tasks as the plan asked for (``runningCount``)."""
        return self._running(plan) == int(plan.after["desired"])

    def _running(self, plan: Plan) -> int:
        svc = EcsService.model_validate(plan.params["ecs"])
        return int(describe_service(plan.kind, plan.aws, svc)["runningCount"])


STORE = EcsCapacity()


def plan_ecs_scale_out(
    *, catalog: Catalog, service: str, environment: str, region: str, aws: AwsTarget
) -> Plan:
    """Plan adding ``capacity.step`` tasks to the service's ECS service in ``region``.

    Raises CatalogError when the region has no ECS service or no capacity cap, AtCapError when
    the desired count is already at the cap.
    """
    capacity = region_capacity(catalog, service, environment, region)[1]
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    before = STORE.read(KIND, target, location.params)
    return plan_scale_out(
        kind=KIND,
        service=service,
        environment=environment,
        aws=target,
        location=location,
        before=before,
        capacity=capacity,
        managed=before["min"] is not None,
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's catalogued ECS service (with a capacity cap): the target and ``ecs`` param."""
    resources = region_capacity(catalog, service, environment, aws.region)[0]
    if resources.ecs is None:
        raise CatalogError(f"{service}/{environment} has no ECS service in {aws.region} in the catalog")
    return Location(
        targets=[ecs_resource(aws, resources.ecs)], params={"ecs": resources.ecs.model_dump(mode="json")}
    )


def _resource_id(svc: EcsService) -> str:
    return f"service/{svc.cluster}/{svc.service}"


def _scalable_target(kind: str, aws: AwsTarget, svc: EcsService) -> dict[str, Any] | None:
    page = aws_call(
        kind,
        ecs_resource(aws, svc),
        client("application-autoscaling", aws),
        "describe_scalable_targets",
        ServiceNamespace="ecs",
        ResourceIds=[_resource_id(svc)],
        ScalableDimension=DIMENSION,
    )
    targets: list[dict[str, Any]] = page.get("ScalableTargets", [])
    return targets[0] if targets else None


def _set_bounds(kind: str, aws: AwsTarget, svc: EcsService, sizes: JsonDict) -> str:
    response = aws_call(
        kind,
        ecs_resource(aws, svc),
        client("application-autoscaling", aws),
        "register_scalable_target",
        ServiceNamespace="ecs",
        ResourceId=_resource_id(svc),
        ScalableDimension=DIMENSION,
        MinCapacity=sizes["min"],
        MaxCapacity=sizes["max"],
    )
    return request_id(response)


def _set_desired(kind: str, aws: AwsTarget, svc: EcsService, desired: int) -> str:
    return update_service(kind, aws, svc, desiredCount=desired)
