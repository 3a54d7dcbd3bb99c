"""``traffic.shift.lambda``: split traffic between Lambda versions behind one alias.

State shape: ``{version: percent}`` (integers summing to 100, versions with 0% left out), e.g.
``{"7": 90, "8": 10}`` for alias -> 7 with ``AdditionalVersionWeights {"8": 0.1}``.
``rollback.lambda`` (tasks.rollback_lambda) reads and writes the same split per region.
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError, LambdaAlias
from tasks.location import Location
from tasks.plan import JsonDict, Plan
from tasks.steps import aws_call
from tasks.weights import ShiftError, blast_radius, describe, step_toward

KIND = "traffic.shift.lambda"
IAM_ACTIONS = ("lambda:GetAlias", "lambda:UpdateAlias")


class LambdaAliasWeights:
    """Reads and sets an alias's primary version and routing weights."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        return read_split(kind, aws, LambdaAlias.model_validate(params["alias"]))

    def write(self, plan: Plan) -> list[str]:
        alias = LambdaAlias.model_validate(plan.params["alias"])
        return [write_split(plan.kind, plan.aws, alias, plan.after)]


def read_split(kind: str, aws: AwsTarget, alias: LambdaAlias) -> dict[str, int]:
    """The alias's ``{version: percent}``."""
    return _split(_get_alias(aws, alias, kind))


def write_split(kind: str, aws: AwsTarget, alias: LambdaAlias, after: dict[str, int]) -> str:
    """Point the alias at ``after`` ({version: percent}); returns the request id.

    The live primary version stays primary if it keeps traffic, so a canary keeps its shape.
    """
    live = _get_alias(aws, alias, kind)["FunctionVersion"]
    primary = live if live in after else max(after, key=lambda v: (after[v], version_number(v)))
    extra = {v: pct / 100 for v, pct in after.items() if v != primary}
    response = aws_call(
        kind,
        resource(alias),
        client("lambda", aws),
        "update_alias",
        FunctionName=alias.function,
        Name=alias.alias,
        FunctionVersion=primary,
        RoutingConfig={"AdditionalVersionWeights": extra},
    )
    return request_id(response)


def alias_params(catalog: Catalog, service: str, environment: str, region: str) -> JsonDict:
    """Plan params naming the catalogued alias of ``service`` in ``region``."""
    alias = catalog.entry(service, environment).region(region).lambda_alias
    if alias is None:
        raise CatalogError(f"{service}/{environment} has no Lambda alias in {region} in the catalog")
    return {"alias": alias.model_dump(mode="json")}


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's catalogued alias: the alias the target, its params (``alias_params``)."""
    params = alias_params(catalog, service, environment, aws.region)
    return Location(targets=[resource(LambdaAlias.model_validate(params["alias"]))], params=params)


def plan_lambda_shift(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    region: str,
    weights: dict[str, int],
    step: int | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan an alias split toward ``weights`` ({version: percent}), at most ``step`` points now.

    Lambda routes to at most two versions, so the result may name two versions at most.
    """
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    params = location.params
    before: dict[str, int] = LambdaAliasWeights().read(KIND, target, params)
    after = {v: pct for v, pct in step_toward(before, weights, step).items() if pct}
    if sum(after.values()) != 100 or len(after) > 2 or min(after.values()) < 0:
        raise ShiftError(f"{KIND}: alias weights must be 1 or 2 versions summing to 100%, got {after}")
    radius = blast_radius(before, after)
    alias = LambdaAlias.model_validate(params["alias"])
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=target,
        targets=location.targets,
        before=before,
        after=after,
        blast_radius=radius,
        summary=f"Lambda {alias.function}:{alias.alias} in {region}: {describe(before, after)} "
        f"({radius:.0%} of invocations move)",
        params=params,
    )


def resource(alias: LambdaAlias) -> str:
    """How plans name an alias."""
    return f"lambda:{alias.function}:{alias.alias}"


def _get_alias(aws: AwsTarget, alias: LambdaAlias, kind: str) -> dict[str, Any]:
    return aws_call(
        kind,
        resource(alias),
        client("lambda", aws),
        "get_alias",
        FunctionName=alias.function,
        Name=alias.alias,
    )


def _split(response: dict[str, Any]) -> dict[str, int]:
    extra = (response.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    split = {str(v): round(float(w) * 100) for v, w in extra.items()}
    split[response["FunctionVersion"]] = 100 - sum(split.values())
    return {v: pct for v, pct in split.items() if pct}


def version_number(version: str) -> int:
    """A published version's number; -1 for ``$LATEST`` so it never counts as older or newer."""
    return int(version) if version.isdigit() else -1
