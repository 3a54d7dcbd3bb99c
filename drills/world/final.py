"""``expect.final_state`` for any service of a catalog: what each region has, read back.

Only what the service has is read (an ECS-only service has no alias version: None), so a
scenario checks the keys that mean something for its service: the ECS revision and desired
count (and the scalable target's minimum), the Lambda alias version, the ASG's desired
capacity, MinSize and launch-template version, the Route 53 weight, the API Gateway stage's rate
limit, whether the ALB listener answers the maintenance page, and every flag (SSM, with the
catalog's ``on_values``, or AppConfig's deployed version).
"""

from __future__ import annotations

from datetime import UTC, datetime

from drills.health import RegionState, SandboxState
from drills.observe import ObserveError, ecs_serving, lambda_serving, route53_weights
from drills.world.capacity import scalable_minimum
from drills.world.observe import WorldObserver, maintenance_page_up, stage_rate_limit
from tasks.aws import AwsTarget, call, client
from tasks.catalog import Catalog, RegionResources


def read_final(catalog: Catalog, endpoint_url: str, *, service: str, environment: str) -> SandboxState:
    """The service's resources as they are now, for the scorecard's final-state checks."""
    entry = catalog.entry(service, environment)
    primary = AwsTarget(region=entry.primary_region, endpoint_url=endpoint_url)
    weights = route53_weights(entry, primary) if entry.route53 is not None else {}
    on = WorldObserver(endpoint_url).flags_on(entry.flags) if entry.flags else frozenset()
    return SandboxState(
        regions={
            region: _region(res, primary.in_region(region), weights.get(region))
            for region, res in entry.regions.items()
        },
        flags={flag: flag in on for flag in (entry.flags.flags if entry.flags else {})},
        observed_at=datetime.now(UTC),
    )


def _region(res: RegionResources, target: AwsTarget, weight: int | None) -> RegionState:
    found: dict[str, object] = {"route53_weight": weight, "throttle_rate": stage_rate_limit(res, target)}
    if res.alb is not None:
        found["maintenance_page"] = maintenance_page_up(res, target)
    if res.ecs is not None:
        found["ecs_revision"], found["ecs_image"] = ecs_serving(res.ecs, target)
        service = call(
            client("ecs", target), "describe_services", cluster=res.ecs.cluster, services=[res.ecs.service]
        )["services"][0]
        found["desired_count"] = int(service["desiredCount"])
        found["scalable_min"] = scalable_minimum(target, res.ecs)
    if res.lambda_alias is not None:
        found["lambda_version"], _ = lambda_serving(res.lambda_alias, target)
    if res.asg_name is not None:
        autoscaling = client("autoscaling", target)
        groups = call(autoscaling, "describe_auto_scaling_groups", AutoScalingGroupNames=[res.asg_name])[
            "AutoScalingGroups"
        ]
        if not groups:
            raise ObserveError(f"{target.region}: Auto Scaling group {res.asg_name} not found")
        found["asg_desired"] = int(groups[0]["DesiredCapacity"])
        found["asg_min"] = int(groups[0]["MinSize"])
        found["launch_template_version"] = str((groups[0].get("LaunchTemplate") or {}).get("Version"))
    return RegionState.model_validate(found)
