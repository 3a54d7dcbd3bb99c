"""``rollback.ecs``: put an ECS service back on the task definition that ran before (or a named one).

State shape: ``{region: task_definition_arn}``, one entry per region rolled back. The update
keeps the service's current ``desiredCount`` (a rollback must not also rescale). Regions are
rolled back one after another and undone on failure (tasks.rollback_regional).

The target is the caller's (an incident's hypothesis found it in the evidence) or, by default,
what the service's history says ran before the live revision (tasks.deploy_history: CloudTrail,
then draining deployments); never "the previous number", which may never have been deployed.
Either way it must still be ACTIVE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError, EcsService
from tasks.deploy_history import ecs_key, previous_release, read_history, same_task_definition
from tasks.plan import ActionError, JsonDict, Plan
from tasks.rollback_regional import (
    InactiveReleaseError,
    NoKnownGoodReleaseError,
    RegionalStore,
    capacity_share,
    pick_regions,
)
from tasks.steps import aws_call

KIND = "rollback.ecs"
IAM_ACTIONS = (
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:DescribeTaskDefinition",
    "cloudtrail:LookupEvents",
)


class EcsTaskDefinition:
    """The task definition an ECS service runs, in one region."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any:
        return str(describe_service(kind, aws, EcsService.model_validate(spec))["taskDefinition"])

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str:
        svc = EcsService.model_validate(spec)
        desired = describe_service(kind, aws, svc)["desiredCount"]
        return update_service(kind, aws, svc, taskDefinition=value, desiredCount=desired)


STORE = RegionalStore(EcsTaskDefinition())


def plan_ecs_rollback(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    regions: list[str] | None = None,
    to_revision: str | None = None,
    source: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan rolling ``service`` back in ``regions`` (default: every region with ECS).

    ``to_revision`` is ``family:N``, ``N`` (same family) or an ARN, and ``source`` says where
    the caller found it; by default, what the service's history says ran before the running
    revision. Raises NoKnownGoodReleaseError when no record says, InactiveReleaseError when
    the target is not ACTIVE.
    """
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.ecs is not None, "an ECS service")
    specs = {r: _ecs(entry.region(r).ecs) for r in chosen}
    params: JsonDict = {"regions": {r: spec.model_dump(mode="json") for r, spec in specs.items()}}
    before = STORE.read(KIND, aws, params)
    targets = {r: _target(aws.in_region(r), specs[r], before[r], to_revision, source) for r in chosen}
    after = {r: arn for r, (arn, _) in targets.items()}
    radius = capacity_share(entry, before, after)
    changes = ", ".join(f"{r} {_rev(before[r])}→{_rev(after[r])} ({targets[r][1]})" for r in chosen)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[ecs_resource(aws.in_region(r), _ecs(entry.region(r).ecs)) for r in chosen],
        before=before,
        after=after,
        blast_radius=radius,
        summary=f"Roll back ECS service of {service}/{environment}: {changes}",
        params={**params, "to_revision": to_revision, "target_source": {r: t[1] for r, t in targets.items()}},
    )


def _ecs(svc: EcsService | None) -> EcsService:
    if svc is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no ECS service in the catalog")
    return svc


def ecs_resource(aws: AwsTarget, svc: EcsService) -> str:
    """How plans and errors name an ECS service: ``ecs:REGION:CLUSTER/SERVICE``."""
    return f"ecs:{aws.region}:{svc.cluster}/{svc.service}"


def _rev(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def update_service(kind: str, aws: AwsTarget, svc: EcsService, **fields: Any) -> str:
    """UpdateService on ``svc`` with ``fields`` (taskDefinition, desiredCount); its request id."""
    response = aws_call(
        kind,
        ecs_resource(aws, svc),
        client("ecs", aws),
        "update_service",
        cluster=svc.cluster,
        service=svc.service,
        **fields,
    )
    return request_id(response)


def describe_service(kind: str, aws: AwsTarget, svc: EcsService) -> dict[str, Any]:
    """The ECS service as DescribeServices returns it; ActionError when it does not exist."""
    page = aws_call(
        kind,
        ecs_resource(aws, svc),
        client("ecs", aws),
        "describe_services",
        cluster=svc.cluster,
        services=[svc.service],
    )
    if not page.get("services"):
        raise ActionError(f"{kind} on {ecs_resource(aws, svc)}: service not found ({page.get('failures')})")
    service: dict[str, Any] = page["services"][0]
    return service


def _target(
    aws: AwsTarget, svc: EcsService, current: str, to_revision: str | None, source: str | None
) -> tuple[str, str]:
    """The ACTIVE task definition ARN to roll back to, and where that choice came from."""
    if to_revision is None:
        history = read_history(aws, ecs_key(svc.cluster, svc.service), until=datetime.now(UTC))
        deployments = describe_service(KIND, aws, svc).get("deployments", [])
        draining = [str(d["taskDefinition"]) for d in deployments if d.get("status") != "PRIMARY"]
        found = previous_release(current, trail=history.trail, draining=draining, same=same_task_definition)
        if found is None:
            raise NoKnownGoodReleaseError(
                f"{KIND} on {ecs_resource(aws, svc)}: {history.unknown(_rev(current), same_task_definition)}"
            )
        to_revision, source = found.value, found.detail
    family = _rev(current).rsplit(":", 1)[0]
    name = f"{family}:{to_revision}" if to_revision.isdigit() else to_revision
    found_def = aws_call(KIND, name, client("ecs", aws), "describe_task_definition", taskDefinition=name)
    definition = found_def["taskDefinition"]
    if definition.get("status", "ACTIVE") != "ACTIVE":
        raise InactiveReleaseError(
            f"{KIND}: {name} is {definition['status']}, not ACTIVE: it cannot run again"
        )
    return str(definition["taskDefinitionArn"]), source or "named by the caller"
