"""``capacity.scale.asg``: add instances to a region's Auto Scaling group, within the catalog's cap.

State shape: ``{"desired": n, "min": m, "max": M}`` (tasks.capacity_scale): the group's
DesiredCapacity, MinSize and MaxSize. When the group has scaling policies the minimum rises with
the desired count, or the policies would scale it back in. One ``update_auto_scaling_group``
call sets all three (AWS checks min <= desired <= max on the call as a whole), so the apply and
its inverse are atomic.
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.capacity_scale import plan_scale_out, region_capacity, wait_serving
from tasks.catalog import Catalog, CatalogError
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call

KIND = "capacity.scale.asg"
IAM_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribePolicies",
    "autoscaling:UpdateAutoScalingGroup",
)


class AsgCapacity:
    """The desired, minimum and maximum size of one Auto Scaling group."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        group = _group(kind, aws, params["asg_name"])
        return {"desired": group["DesiredCapacity"], "min": group["MinSize"], "max": group["MaxSize"]}

    def write(self, plan: Plan) -> list[str]:
        name = plan.params["asg_name"]
        after = plan.after
        response = aws_call(
            plan.kind,
            _resource(plan.aws, name),
            client("autoscaling", plan.aws),
            "update_auto_scaling_group",
            AutoScalingGroupName=name,
            MinSize=after["min"],
            MaxSize=after["max"],
            DesiredCapacity=after["desired"],
        )
        wait_serving(plan.kind, _resource(plan.aws, name), int(after["desired"]), lambda: self._running(plan))
        return [request_id(response)]

    def serving(self, plan: Plan) -> bool:
        """The group has as many InService instances as the plan asked for."""
        return self._running(plan) == int(plan.after["desired"])

    def _running(self, plan: Plan) -> int:
        return _in_service(_group(plan.kind, plan.aws, plan.params["asg_name"]))


STORE = AsgCapacity()


def plan_asg_scale_out(
    *, catalog: Catalog, service: str, environment: str, region: str, aws: AwsTarget
) -> Plan:
    """Plan adding ``capacity.step`` instances to the service's group in ``region``.

    Raises CatalogError when the region has no group or no capacity cap, AtCapError when the
    desired capacity is already at the cap.
    """
    capacity = region_capacity(catalog, service, environment, region)[1]
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    name = location.params["asg_name"]
    policies = aws_call(
        KIND,
        _resource(target, name),
        client("autoscaling", target),
        "describe_policies",
        AutoScalingGroupName=name,
    )["ScalingPolicies"]
    return plan_scale_out(
        kind=KIND,
        service=service,
        environment=environment,
        aws=target,
        location=location,
        before=STORE.read(KIND, target, location.params),
        capacity=capacity,
        managed=bool(policies),
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's catalogued group (with a capacity cap): the target and ``asg_name`` param."""
    name = region_capacity(catalog, service, environment, aws.region)[0].asg_name
    if name is None:
        raise CatalogError(
            f"{service}/{environment} has no Auto Scaling group in {aws.region} in the catalog"
        )
    return Location(targets=[_resource(aws, name)], params={"asg_name": name})


def _resource(aws: AwsTarget, name: str) -> str:
    return f"autoscaling:{aws.region}:{name}"


def _group(kind: str, aws: AwsTarget, name: str) -> dict[str, Any]:
    groups = aws_call(
        kind,
        _resource(aws, name),
        client("autoscaling", aws),
        "describe_auto_scaling_groups",
        AutoScalingGroupNames=[name],
    )["AutoScalingGroups"]
    if not groups:
        raise ActionError(f"{kind} on {_resource(aws, name)}: no such Auto Scaling group")
    group: dict[str, Any] = groups[0]
    return group


def _in_service(group: dict[str, Any]) -> int:
    return sum(1 for i in group.get("Instances", []) if i.get("LifecycleState") == "InService")
