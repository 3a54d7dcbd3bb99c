"""``rollback.ecs``: put an ECS service back on its previous (or a named) task definition.

State shape: ``{region: task_definition_arn}``, one entry per region rolled back. The update
keeps the service's current ``desiredCount`` (a rollback must not also rescale). Regions are
rolled back one after another and undone on failure (tasks.rollback_regional).
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError, EcsService
from tasks.plan import ActionError, JsonDict, Plan
from tasks.rollback_regional import RegionalStore, capacity_share, pick_regions
from tasks.steps import aws_call

KIND = "rollback.ecs"
IAM_ACTIONS = (
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
)


class EcsTaskDefinition:
    """The task definition an ECS service runs, in one region."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any:
        return str(_describe(kind, aws, EcsService.model_validate(spec))["taskDefinition"])

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str:
        svc = EcsService.model_validate(spec)
        desired = _describe(kind, aws, svc)["desiredCount"]
        response = aws_call(
            kind,
            _resource(aws, svc),
            client("ecs", aws),
            "update_service",
            cluster=svc.cluster,
            service=svc.service,
            taskDefinition=value,
            desiredCount=desired,
        )
        return request_id(response)


STORE = RegionalStore(EcsTaskDefinition())


def plan_ecs_rollback(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    regions: list[str] | None = None,
    to_revision: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan rolling ``service`` back in ``regions`` (default: every region with ECS).

    ``to_revision`` is ``family:N``, ``N`` (same family) or an ARN; by default the newest
    ACTIVE revision older than the running one.
    """
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.ecs is not None, "an ECS service")
    params: JsonDict = {"regions": {r: _ecs(entry.region(r).ecs).model_dump(mode="json") for r in chosen}}
    before = STORE.read(KIND, aws, params)
    after = {r: _target(aws.in_region(r), before[r], to_revision) for r in chosen}
    radius = capacity_share(entry, before, after)
    changes = ", ".join(f"{r} {_rev(before[r])}→{_rev(after[r])}" for r in chosen)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[_resource(aws.in_region(r), _ecs(entry.region(r).ecs)) for r in chosen],
        before=before,
        after=after,
        blast_radius=radius,
        summary=f"Roll back ECS service of {service}/{environment}: {changes}",
        params={**params, "to_revision": to_revision},
    )


def _ecs(svc: EcsService | None) -> EcsService:
    if svc is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no ECS service in the catalog")
    return svc


def _resource(aws: AwsTarget, svc: EcsService) -> str:
    return f"ecs:{aws.region}:{svc.cluster}/{svc.service}"


def _rev(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _describe(kind: str, aws: AwsTarget, svc: EcsService) -> dict[str, Any]:
    page = aws_call(
        kind,
        _resource(aws, svc),
        client("ecs", aws),
        "describe_services",
        cluster=svc.cluster,
        services=[svc.service],
    )
    if not page.get("services"):
        raise ActionError(f"{kind} on {_resource(aws, svc)}: service not found ({page.get('failures')})")
    service: dict[str, Any] = page["services"][0]
    return service


def _target(aws: AwsTarget, current: str, to_revision: str | None) -> str:
    """The ARN to roll back to: ``to_revision`` resolved, or the previous ACTIVE revision."""
    ecs = client("ecs", aws)
    family, revision = _rev(current).rsplit(":", 1)
    if to_revision is not None:
        name = f"{family}:{to_revision}" if to_revision.isdigit() else to_revision
        found = aws_call(KIND, name, ecs, "describe_task_definition", taskDefinition=name)
        return str(found["taskDefinition"]["taskDefinitionArn"])
    older: list[tuple[int, str]] = []
    token: dict[str, str] = {}
    while True:
        page = aws_call(
            KIND, family, ecs, "list_task_definitions", familyPrefix=family, status="ACTIVE", **token
        )
        for arn in page["taskDefinitionArns"]:
            name, rev = _rev(arn).rsplit(":", 1)
            if name == family and int(rev) < int(revision):
                older.append((int(rev), str(arn)))
        if not page.get("nextToken"):
            break
        token = {"nextToken": page["nextToken"]}
    if not older:
        raise ActionError(f"{KIND}: {family} has no ACTIVE revision older than {revision}")
    return max(older)[1]
