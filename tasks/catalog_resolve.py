"""Resolve the names a catalog may give in place of AWS-generated ids.

A catalog written before its resources exist (a drill world, a service about to launch) can
name a hosted zone (``route53.zone_name``) instead of its id, a listener by
``alb.load_balancer`` + ``alb.port`` + ``alb.target_groups`` instead of its ARNs, and a REST
API by name in ``api_gateway.rest_api`` (a value shaped like an API id, ten lowercase letters
and digits, is taken as the id; a name is replaced by the id it resolves to). Actions
need the ids, so the flows resolve a catalog right after loading it (``RunSettings.catalog()``)
and the drill writes the resolved catalog it used. An entry that already has its ids costs no
AWS call; every name that does not resolve is reported at once, with its field path.

>>> resolved = resolve_catalog(load_catalog(path), lambda region: AwsTarget(region=region))
>>> resolved.entry("checkout", "prod").route53.zone_id
'Z0123456789ABCDEFGHIJ'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import (
    AlbListener,
    ApiGatewayStage,
    Catalog,
    CatalogError,
    RegionResources,
    Route53Weighted,
    ServiceEnvironment,
)


class CatalogResolveError(CatalogError):
    """One or more catalog names do not name an existing resource; ``unresolved`` lists them."""

    def __init__(self, unresolved: list[str]) -> None:
        self.unresolved = unresolved
        super().__init__("catalog names did not resolve: " + "; ".join(unresolved))


def resolve_catalog(catalog: Catalog, aws: Callable[[str], AwsTarget]) -> Catalog:
    """``catalog`` with every named zone and listener resolved to its ids (names kept).

    ``aws(region)`` is the target a lookup in ``region`` uses (``RunSettings.aws``): each runs
    in the region the resource lives in, Route 53's in the primary region.
    Raises :class:`CatalogResolveError` naming every field whose name did not resolve.
    """
    problems: list[str] = []
    services = {
        service: {
            env: _entry(entry, aws, f"services.{service}.{env}", problems) for env, entry in envs.items()
        }
        for service, envs in catalog.services.items()
    }
    if problems:
        raise CatalogResolveError(problems)
    return Catalog(services=services)


def _entry(
    entry: ServiceEnvironment, aws: Callable[[str], AwsTarget], where: str, problems: list[str]
) -> ServiceEnvironment:
    regions = {
        region: _region(resources, aws(region), f"{where}.regions.{region}", problems)
        for region, resources in entry.regions.items()
    }
    route53 = entry.route53
    if route53 is not None and not route53.resolved:
        route53 = _route53(route53, aws(entry.primary_region), f"{where}.route53", problems)
    return entry.model_copy(update={"regions": regions, "route53": route53})


REST_API_ID = re.compile(r"[a-z0-9]{10}")


def _region(resources: RegionResources, aws: AwsTarget, where: str, problems: list[str]) -> RegionResources:
    update: dict[str, Any] = {}
    if resources.alb is not None and not resources.alb.resolved:
        update["alb"] = _alb(resources.alb, aws, f"{where}.alb", problems)
    stage = resources.api_gateway
    if stage is not None and not REST_API_ID.fullmatch(stage.rest_api):
        update["api_gateway"] = _rest_api(stage, aws, f"{where}.api_gateway", problems)
    return resources.model_copy(update=update) if update else resources


def _rest_api(stage: ApiGatewayStage, aws: AwsTarget, where: str, problems: list[str]) -> ApiGatewayStage:
    apigateway = client("apigateway", aws)
    ids: list[str] = []
    position: dict[str, str] = {}
    while True:
        page = call(apigateway, "get_rest_apis", limit=500, **position)
        ids += [str(api["id"]) for api in page.get("items", []) if api.get("name") == stage.rest_api]
        if not page.get("position"):
            break
        position = {"position": page["position"]}
    if len(ids) != 1:
        found = "no REST API" if not ids else f"{len(ids)} REST APIs"
        problems.append(f"{where}.rest_api: {found} named {stage.rest_api!r} in {aws.region}")
        return stage
    return stage.model_copy(update={"rest_api": ids[0]})


def _route53(record: Route53Weighted, aws: AwsTarget, where: str, problems: list[str]) -> Route53Weighted:
    name = _fqdn(record.zone_name or "")
    zones = call(client("route53", aws), "list_hosted_zones_by_name", DNSName=name)["HostedZones"]
    ids = [str(z["Id"]).removeprefix("/hostedzone/") for z in zones if z["Name"] == name]
    if len(ids) != 1:
        found = "no hosted zone" if not ids else f"{len(ids)} hosted zones"
        problems.append(f"{where}.zone_name: {found} named {name!r}")
        return record
    return record.model_copy(update={"zone_id": ids[0]})


def _alb(alb: AlbListener, aws: AwsTarget, where: str, problems: list[str]) -> AlbListener:
    elbv2 = client("elbv2", aws)
    balancers = call(elbv2, "describe_load_balancers")["LoadBalancers"]
    lb_arn = next(
        (b["LoadBalancerArn"] for b in balancers if b["LoadBalancerName"] == alb.load_balancer), None
    )
    if lb_arn is None:
        problems.append(
            f"{where}.load_balancer: no load balancer named {alb.load_balancer!r} in {aws.region}"
        )
        return alb
    listeners = call(elbv2, "describe_listeners", LoadBalancerArn=lb_arn)["Listeners"]
    listener = next((li["ListenerArn"] for li in listeners if li["Port"] == alb.port), None)
    if listener is None:
        problems.append(f"{where}.port: {alb.load_balancer!r} has no listener on port {alb.port}")
    # By name, not by load balancer: a group at weight 0 may not be attached to it yet.
    groups = {
        g["TargetGroupName"]: g["TargetGroupArn"]
        for g in call(elbv2, "describe_target_groups")["TargetGroups"]
    }
    missing = [name for name in alb.target_groups if name not in groups]
    if missing:
        problems.append(f"{where}.target_groups: no target group named {missing} in {aws.region}")
    if listener is None or missing:
        return alb
    return alb.model_copy(
        update={"listener_arn": listener, "target_group_arns": [groups[name] for name in alb.target_groups]}
    )


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."
