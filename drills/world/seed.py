"""Seed the sandbox with every resource a catalog names and return the catalog with its ids.

Order per region: the network (when a load balancer or an ASG needs one), the ALB's target
groups and listener, the ASG and the ECS service behind the live target group (a scalable
target when the region gives ``capacity``), the Lambda function (behind it when nothing else
serves there), the API Gateway stage, log groups, alarms (the dependencies' too). Then per
service environment: the Route 53 records, the flags (breaker flags included, all off), the SNS
topic and the evidence bucket. Finally the
named zones and listeners are resolved to ids (``tasks.catalog_resolve``), the same code the
flows use, so a drill acts on exactly what exists.

>>> catalog = seed_world(load_catalog(Path("drills/catalogs/quotes.yaml")), sandbox.endpoint_url)
"""

from __future__ import annotations

from collections.abc import Collection

from botocore.exceptions import ClientError

from drills.world.balancers import create_listener, load_balancer_dns, register_lambda
from drills.world.capacity import create_scalable_target
from drills.world.compute import create_asg, create_ecs_service
from drills.world.flags import create_flags
from drills.world.functions import create_function
from drills.world.gateway import create_stage
from drills.world.network import Network, create_network
from drills.world.observability import create_alarms, create_dependency_alarms, create_log_groups
from drills.world.routing import create_weighted_records
from drills.world.shared import create_evidence_bucket, create_topic
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, RegionResources, ServiceEnvironment
from tasks.catalog_resolve import resolve_catalog


def seed_world(
    catalog: Catalog, endpoint_url: str, *, breaching: Collection[tuple[str, str]] = ()
) -> Catalog:
    """Create every resource ``catalog`` names at ``endpoint_url``; the resolved catalog.

    ``breaching``: (service, region) pairs whose alarms treat missing data as breaching (a
    ``total_outage`` drill's region), from the start. Raises ``WorldError`` (naming the catalog
    field) for what the sandbox cannot build.
    """
    sandbox = AwsTarget(region="us-east-1", endpoint_url=endpoint_url)
    networks: dict[str, Network] = {}
    services = {
        service: {
            env: _environment(
                entry,
                sandbox,
                networks,
                f"services.{service}.{env}",
                f"{service} {env}",
                {region for s, region in breaching if s == service},
            )
            for env, entry in envs.items()
        }
        for service, envs in catalog.services.items()
    }
    return resolve_catalog(Catalog(services=services), sandbox.in_region)


def _environment(
    entry: ServiceEnvironment,
    sandbox: AwsTarget,
    networks: dict[str, Network],
    field: str,
    label: str,
    breaching: set[str],
) -> ServiceEnvironment:
    regions = {
        region: _region(
            resources,
            sandbox.in_region(region),
            networks,
            f"{field}.regions.{region}",
            label,
            "breaching" if region in breaching else "missing",
        )
        for region, resources in entry.regions.items()
    }
    for region in entry.regions:
        create_dependency_alarms(sandbox.in_region(region), entry.dependencies, field=f"{field}.dependencies")
    primary = sandbox.in_region(entry.primary_region)
    if entry.route53 is not None:
        endpoints = {
            region: _endpoint(entry.regions[region], sandbox.in_region(region), entry.route53.record_name)
            for region in entry.route53.set_identifiers
        }
        create_weighted_records(primary, entry.route53, endpoints, field=f"{field}.route53")
    update: dict[str, object] = {"regions": regions}
    if entry.flags is not None:
        update["flags"] = create_flags(sandbox.in_region(entry.flags.region), entry.flags)
    if entry.sns_topic_arn is not None:
        update["sns_topic_arn"] = create_topic(primary, entry.sns_topic_arn, field=f"{field}.sns_topic_arn")
    if entry.evidence_bucket is not None:
        try:
            create_evidence_bucket(primary, entry.evidence_bucket)
        except ClientError as e:  # one bucket may keep several services' evidence
            if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
    return entry.model_copy(update=update)


def _region(
    resources: RegionResources,
    target: AwsTarget,
    networks: dict[str, Network],
    field: str,
    label: str,
    treat_missing_data: str,
) -> RegionResources:
    """Build the region; its resources with the ids AWS generated where the catalog gave names."""
    live_group: str | None = None
    lambda_only = resources.lambda_alias is not None and resources.ecs is None and resources.asg_name is None
    if resources.alb is not None or resources.asg_name is not None:
        network = networks.get(target.region) or networks.setdefault(target.region, create_network(target))
        if resources.alb is not None:
            groups = create_listener(
                resources.alb, target, network, lambda_targets=lambda_only, field=f"{field}.alb"
            )
            live_group = groups[0]
        if resources.asg_name is not None:
            create_asg(target, resources.asg_name, network, live_group, resources.capacity)
    create_log_groups(target, resources.log_groups)
    if resources.ecs is not None:
        log_group = resources.log_groups[0] if resources.log_groups else None
        create_ecs_service(target, resources.ecs, live_group, log_group)
        if resources.capacity is not None:
            create_scalable_target(target, resources.ecs, resources.capacity)
    if resources.lambda_alias is not None:
        alias_arn = create_function(target, resources.lambda_alias)
        if lambda_only and live_group is not None:
            register_lambda(target, live_group, alias_arn)
    create_alarms(target, resources, description=label, field=field, treat_missing_data=treat_missing_data)
    if resources.api_gateway is None:
        return resources
    api = create_stage(target, resources.api_gateway, field=f"{field}.api_gateway")
    stage = resources.api_gateway.model_copy(update={"rest_api": api})
    return resources.model_copy(update={"api_gateway": stage})


def _endpoint(resources: RegionResources, target: AwsTarget, record_name: str) -> str:
    if resources.alb is not None and resources.alb.load_balancer:
        return load_balancer_dns(target, resources.alb.load_balancer)
    return f"{target.region}.{record_name.rstrip('.')}"
