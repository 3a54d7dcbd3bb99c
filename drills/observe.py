"""Read what production is running out of the sandbox, as input for the health model.

This is the simulator's only view of the world: whatever a flow (or a person) changed in AWS,
by whatever means, shows up here on the next tick. Nothing is remembered between observations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drills import seed_names as n
from drills.health import RegionState, SandboxState
from tasks.aws import AwsTarget, call, client
from tasks.catalog import (
    AlbListener,
    Catalog,
    EcsService,
    FlagStore,
    LambdaAlias,
    RegionResources,
    Route53Weighted,
    ServiceEnvironment,
)

BAD_IMAGES = frozenset({n.BAD_IMAGE})
BAD_LAMBDA_DESCRIPTIONS = frozenset({n.BAD_LAMBDA_DESCRIPTION})
FLAG_ON_VALUES = frozenset({"on", "true", "1", "enabled"})


class ObserveError(RuntimeError):
    """The sandbox does not hold what the catalog describes (a resource is missing)."""


def observe(
    catalog: Catalog, endpoint_url: str, *, service: str = n.SERVICE, environment: str = n.ENVIRONMENT
) -> SandboxState:
    """The current state of ``service``/``environment`` in the sandbox at ``endpoint_url``."""
    entry = catalog.entry(service, environment)
    primary = AwsTarget(region=entry.primary_region, endpoint_url=endpoint_url)
    weights = route53_weights(entry, primary)
    return SandboxState(
        regions={
            region: _region_state(resources, primary.in_region(region), weights.get(region, 0))
            for region, resources in entry.regions.items()
        },
        flags=_flags(entry.flags, primary) if entry.flags else {},
        observed_at=datetime.now(UTC),
    )


def _region_state(resources: RegionResources, target: AwsTarget, weight: int) -> RegionState:
    if resources.ecs is None or resources.lambda_alias is None or resources.alb is None:
        raise ObserveError(f"{target.region}: the drill catalog must name the ECS service, alias and ALB")
    revision, image = ecs_serving(resources.ecs, target)
    weights, dead_share = _alb(resources.alb, target)
    version, bad_share = lambda_serving(resources.lambda_alias, target)
    return RegionState(
        ecs_revision=revision,
        ecs_image=image,
        ecs_bad=image in BAD_IMAGES,
        lambda_version=version,
        lambda_bad_share=bad_share,
        alb_weights=weights,
        alb_dead_share=dead_share,
        route53_weight=weight,
    )


def ecs_serving(service: EcsService, target: AwsTarget) -> tuple[int, str]:
    ecs = client("ecs", target)
    services = call(ecs, "describe_services", cluster=service.cluster, services=[service.service])
    if not services["services"]:
        raise ObserveError(f"{target.region}: ECS service {service.service} not found")
    arn = services["services"][0]["taskDefinition"]
    definition = call(ecs, "describe_task_definition", taskDefinition=arn)["taskDefinition"]
    return int(definition["revision"]), str(definition["containerDefinitions"][0]["image"])


def _alb(alb: AlbListener, target: AwsTarget) -> tuple[dict[str, int], float]:
    """Listener weights by target group name, and the share sent to groups with no healthy target."""
    elbv2 = client("elbv2", target)
    listener = call(elbv2, "describe_listeners", ListenerArns=[alb.listener_arn])["Listeners"][0]
    action = listener["DefaultActions"][0]
    groups: list[dict[str, Any]] = action.get("ForwardConfig", {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    weights = {_tg_name(g["TargetGroupArn"]): int(g.get("Weight", 1)) for g in groups}
    total = sum(weights.values())
    dead = sum(int(g.get("Weight", 1)) for g in groups if not has_healthy_target(elbv2, g["TargetGroupArn"]))
    return weights, (dead / total if total else 1.0)


def _tg_name(arn: str) -> str:
    return arn.split(":targetgroup/")[-1].split("/")[0]


def has_healthy_target(elbv2: Any, group_arn: str) -> bool:
    health = call(elbv2, "describe_target_health", TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return any(t["TargetHealth"]["State"] == "healthy" for t in health)


def lambda_serving(live: LambdaAlias, target: AwsTarget) -> tuple[str, float]:
    """The alias's version, and the share of invocations on a bad version (canary weights count)."""
    lam = client("lambda", target)
    function = live.function
    alias = call(lam, "get_alias", FunctionName=function, Name=live.alias)
    extra: dict[str, float] = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {})
    shares = {alias["FunctionVersion"]: 1.0 - sum(extra.values()), **extra}
    bad = sum(share for version, share in shares.items() if _lambda_bad(lam, function, version))
    return str(alias["FunctionVersion"]), min(1.0, max(0.0, bad))


def _lambda_bad(lam: Any, function: str, version: str) -> bool:
    config = call(lam, "get_function_configuration", FunctionName=function, Qualifier=version)
    return config.get("Description", "") in BAD_LAMBDA_DESCRIPTIONS


def route53_weights(entry: ServiceEnvironment, primary: AwsTarget) -> dict[str, int]:
    """region -> weight of its record; a region whose record is gone gets no traffic."""
    if entry.route53 is None:
        return {region: 1 for region in entry.regions}
    records = weighted_records(entry.route53, primary)
    by_identifier = {r.get("SetIdentifier"): int(r.get("Weight", 0)) for r in records}
    return {region: by_identifier.get(ident, 0) for region, ident in entry.route53.set_identifiers.items()}


def weighted_records(route53: Route53Weighted, primary: AwsTarget) -> list[dict[str, Any]]:
    name = route53.record_name if route53.record_name.endswith(".") else f"{route53.record_name}."
    page = call(
        client("route53", primary),
        "list_resource_record_sets",
        HostedZoneId=route53.zone_id,
        StartRecordName=name,
        StartRecordType=route53.record_type,
    )
    return [r for r in page["ResourceRecordSets"] if r["Name"] == name and r["Type"] == route53.record_type]


def _flags(store: FlagStore, primary: AwsTarget) -> dict[str, bool]:
    ssm = client("ssm", primary.in_region(store.region))
    found = call(ssm, "get_parameters", Names=list(store.flags.values()))["Parameters"]
    values = {p["Name"]: str(p["Value"]).strip().lower() for p in found}
    return {flag: values.get(parameter) in FLAG_ON_VALUES for flag, parameter in store.flags.items()}
