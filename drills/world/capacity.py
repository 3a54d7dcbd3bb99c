"""Autoscaled capacity: an Application Auto Scaling scalable target per ECS service whose region
gives ``capacity``, and the world's autoscaler that holds the service at its minimum.

The catalog's ``capacity`` says Firebreak may scale the region out, so the world makes that
count managed, as production ones are: a scalable target (MinCapacity the seeded task count,
MaxCapacity ``capacity.max``). The world's autoscaler keeps the desired count at MinCapacity
each tick (it scales in to it, and its scale-out cooldown outlasts a drill), so raising
``desiredCount`` alone is undone; raising the target's MinCapacity is what holds. Auto Scaling
groups are seeded with ``MaxSize = capacity.max`` and no scaling policy: their desired capacity
is what runs.
"""

from __future__ import annotations

from drills.seed_region import deployer_client
from drills.world.names import DESIRED_COUNT
from tasks.aws import AwsTarget, call, client
from tasks.catalog import Capacity, EcsService

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"


def resource_id(ecs: EcsService) -> str:
    """The scalable target's ResourceId, e.g. ``service/shop-prod/orders``."""
    return f"service/{ecs.cluster}/{ecs.service}"


def create_scalable_target(target: AwsTarget, ecs: EcsService, capacity: Capacity) -> None:
    """Register the ECS service as a scalable target between the seeded count and the cap."""
    deployer_client("application-autoscaling", target).register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=resource_id(ecs),
        ScalableDimension=DIMENSION,
        MinCapacity=DESIRED_COUNT,
        MaxCapacity=max(capacity.max, DESIRED_COUNT),
    )


def scalable_minimum(target: AwsTarget, ecs: EcsService) -> int | None:
    """The service's scalable target's MinCapacity; None when it is not a scalable target."""
    found = call(
        client("application-autoscaling", target), "describe_scalable_targets",
        ServiceNamespace=NAMESPACE, ResourceIds=[resource_id(ecs)], ScalableDimension=DIMENSION,
    )["ScalableTargets"]  # fmt: skip
    return int(found[0]["MinCapacity"]) if found else None


def hold_at_minimum(target: AwsTarget, ecs: EcsService) -> int | None:
    """The autoscaler's tick: set the desired count to the scalable target's MinCapacity when
    it differs; the MinCapacity, or None when the service is not a scalable target."""
    minimum = scalable_minimum(target, ecs)
    if minimum is None:
        return None
    ecs_client = client("ecs", target)
    current = call(ecs_client, "describe_services", cluster=ecs.cluster, services=[ecs.service])["services"]
    if current and int(current[0]["desiredCount"]) != minimum:
        call(ecs_client, "update_service", cluster=ecs.cluster, service=ecs.service, desiredCount=minimum)
    return minimum
