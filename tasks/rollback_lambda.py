"""``rollback.lambda``: point a Lambda alias back at its previous (or a named) version.

State shape: ``{region: {version: percent}}``, the alias split of tasks.traffic_lambda in each
region rolled back. A rollback sets ``{previous: 100}``, which also clears canary weights.
Regions are rolled back one after another and undone on failure (tasks.rollback_regional).
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog, CatalogError, LambdaAlias
from tasks.plan import ActionError, JsonDict, Plan
from tasks.rollback_regional import RegionalStore, capacity_share, pick_regions
from tasks.steps import aws_call
from tasks.traffic_lambda import IAM_ACTIONS as ALIAS_IAM_ACTIONS
from tasks.traffic_lambda import read_split, resource, version_number, write_split

KIND = "rollback.lambda"
IAM_ACTIONS = (*ALIAS_IAM_ACTIONS, "lambda:ListVersionsByFunction")


class LambdaAliasRelease:
    """The version split of a Lambda alias, in one region."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any:
        return read_split(kind, aws, LambdaAlias.model_validate(spec))

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str:
        return write_split(kind, aws, LambdaAlias.model_validate(spec), value)


STORE = RegionalStore(LambdaAliasRelease())


def plan_lambda_rollback(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    regions: list[str] | None = None,
    to_version: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan moving the alias in ``regions`` (default: every region with one) wholly to
    ``to_version``, or to the newest published version older than the newest it routes to
    (8 is the release rolled back in ``{7: 90, 8: 10}``, so the result is ``{7: 100}``)."""
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.lambda_alias is not None, "a Lambda alias")
    aliases = {r: _alias(entry.region(r).lambda_alias) for r in chosen}
    params: JsonDict = {"regions": {r: a.model_dump(mode="json") for r, a in aliases.items()}}
    before = STORE.read(KIND, aws, params)
    after = {r: {_target(aws.in_region(r), aliases[r], before[r], to_version): 100} for r in chosen}
    changes = ", ".join(f"{r} {before[r]}→{after[r]}" for r in chosen)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[f"{resource(a)}@{r}" for r, a in aliases.items()],
        before=before,
        after=after,
        blast_radius=capacity_share(entry, before, after),
        summary=f"Roll back Lambda aliases of {service}/{environment}: {changes}",
        params={**params, "to_version": to_version},
    )


def _alias(alias: LambdaAlias | None) -> LambdaAlias:
    if alias is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no Lambda alias in the catalog")
    return alias


def _target(aws: AwsTarget, alias: LambdaAlias, split: dict[str, int], to_version: str | None) -> str:
    versions = _versions(aws, alias)
    if to_version is not None:
        if to_version not in versions:
            raise ActionError(f"{KIND} on {resource(alias)}: version {to_version} does not exist")
        return to_version
    newest = max(split, key=version_number)
    older = [v for v in versions if 0 <= version_number(v) < version_number(newest)]
    if not older:
        raise ActionError(f"{KIND} on {resource(alias)}: no published version older than {newest}")
    return max(older, key=version_number)


def _versions(aws: AwsTarget, alias: LambdaAlias) -> list[str]:
    fn = client("lambda", aws)
    versions: list[str] = []
    marker: dict[str, str] = {}
    while True:
        page = aws_call(
            KIND, resource(alias), fn, "list_versions_by_function", FunctionName=alias.function, **marker
        )
        versions += [v["Version"] for v in page["Versions"]]
        if not page.get("NextMarker"):
            return versions
        marker = {"Marker": page["NextMarker"]}
