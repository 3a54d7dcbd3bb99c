"""Inject faults into the sandbox the way they happen in production: by changing AWS state.

A bad deploy is a new task-definition revision rolled out *now*; a bad flag is a new parameter
version. So the evidence a flow gathers (the deployment's ``createdAt``, parameter history,
alias versions) dates the change to the fault, exactly as it would in a real incident.
Faults that live outside AWS (a degraded region, a dependency down) are simulator state: see
``Simulator.degrade_region`` and ``Simulator.set_dependency_down``.

The changes are made by the drill's *deployer*, not by Firebreak (``deployer_client``: its own
access key and botocore's plain User-Agent), so the sandbox's CloudTrail records them under
another caller, as a CI pipeline's deploy would be.
Firebreak never blames its own changes; a fault it would recognise as its own would not be one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from drills import seed_names as n
from drills.seed_region import DEPLOYER_ACCESS_KEY, deployer_client, pricing_zip, register_task_definition
from tasks.aws import AwsTarget, call
from tasks.catalog import Catalog, CatalogError, RegionResources

__all__ = ["DEPLOYER_ACCESS_KEY", "InjectedFault", "deployer_client"]


class InjectedFault(BaseModel):
    """What a fault changed, for the drill's answer key (and its scorecard)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    region: str
    resource: str
    before: str
    after: str


def inject_bad_deploy(
    target: AwsTarget, catalog: Catalog, region: str, *, image: str = n.BAD_IMAGE
) -> InjectedFault:
    """Register a new checkout revision running ``image`` and roll the region's ECS service to it.

    >>> inject_bad_deploy(sandbox.target(), catalog, "eu-west-1").after
    'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:2'
    """
    resources = _region(catalog, region)
    if resources.ecs is None:
        raise CatalogError(f"{region}: the catalog names no ECS service to deploy to")
    regional = target.in_region(region)
    ecs = deployer_client("ecs", regional)
    service = call(ecs, "describe_services", cluster=resources.ecs.cluster, services=[resources.ecs.service])
    current = service["services"][0]
    new_arn = register_task_definition(regional, image, ecs=ecs)
    # desiredCount: moto then reports runningCount == desiredCount (services_stable works).
    # forceNewDeployment: moto never adds a deployment, but this re-stamps the PRIMARY one's
    # createdAt, so the deploy is dated now as on AWS (moto task definitions have no registeredAt).
    call(
        ecs,
        "update_service",
        cluster=resources.ecs.cluster,
        service=resources.ecs.service,
        taskDefinition=new_arn,
        desiredCount=current["desiredCount"],
        forceNewDeployment=True,
    )
    return InjectedFault(
        kind="bad_deploy",
        region=region,
        resource=f"{resources.ecs.cluster}/{resources.ecs.service}",
        before=current["taskDefinition"],
        after=new_arn,
    )


def inject_bad_flag(
    target: AwsTarget, catalog: Catalog, *, flag: str = n.FLAG_NEW_PRICING, value: str = "on"
) -> InjectedFault:
    """Flip ``flag`` to ``value`` as a new parameter version (its history shows the change)."""
    store = catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
    if store is None or flag not in store.flags:
        raise CatalogError(f"the catalog has no flag {flag!r}")
    parameter = store.flags[flag]
    ssm = deployer_client("ssm", target.in_region(store.region))
    before = call(ssm, "get_parameter", Name=parameter)["Parameter"]["Value"]
    call(ssm, "put_parameter", Name=parameter, Value=value, Type="String", Overwrite=True)
    return InjectedFault(kind="bad_flag", region=store.region, resource=parameter, before=before, after=value)


def inject_bad_lambda(target: AwsTarget, catalog: Catalog, region: str) -> InjectedFault:
    """Publish a bad build of the pricing function and point the ``live`` alias at it."""
    live = _region(catalog, region).lambda_alias
    if live is None:
        raise CatalogError(f"{region}: the catalog names no Lambda alias")
    lam = deployer_client("lambda", target.in_region(region))
    before = call(lam, "get_alias", FunctionName=live.function, Name=live.alias)["FunctionVersion"]
    call(lam, "update_function_code", FunctionName=live.function, ZipFile=pricing_zip(price=-1))
    version = call(lam, "publish_version", FunctionName=live.function, Description=n.BAD_LAMBDA_DESCRIPTION)
    call(lam, "update_alias", FunctionName=live.function, Name=live.alias, FunctionVersion=version["Version"])
    return InjectedFault(
        kind="bad_lambda",
        region=region,
        resource=f"{live.function}:{live.alias}",
        before=str(before),
        after=str(version["Version"]),
    )


def inject_staging_revision(target: AwsTarget, catalog: Catalog, region: str) -> InjectedFault:
    """Register a newer, healthy checkout revision that is never deployed (a staging build).

    Nothing runs it: a rollback that picks "the newest revision older than the bad one" by
    number would pick it, one that reads what ran before would not.
    """
    resources = _region(catalog, region)
    if resources.ecs is None:
        raise CatalogError(f"{region}: the catalog names no ECS service")
    regional = target.in_region(region)
    ecs = deployer_client("ecs", regional)
    running = call(ecs, "describe_services", cluster=resources.ecs.cluster, services=[resources.ecs.service])
    staged = register_task_definition(regional, n.GOOD_IMAGE, ecs=ecs)
    return InjectedFault(
        kind="staging_revision",
        region=region,
        resource=f"{resources.ecs.cluster}/{resources.ecs.service}",
        before=running["services"][0]["taskDefinition"],
        after=staged,
    )


def _region(catalog: Catalog, region: str) -> RegionResources:
    return catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region)
