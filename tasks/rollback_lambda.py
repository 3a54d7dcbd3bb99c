"""``rollback.lambda``: point a Lambda alias back at the version that ran before (or a named one).

State shape: ``{region: {version: percent}}``, the alias split of tasks.traffic_lambda in each
region rolled back. A rollback sets ``{previous: 100}``, which also clears canary weights.
Regions are rolled back one after another and undone on failure (tasks.rollback_regional).

By default the target is, for a canary (``{7: 90, 8: 10}``), the older version the alias still
routes to (7: it is running now), and otherwise what the alias' CloudTrail history says it
pointed to before (tasks.deploy_history); never "the previous number". It must exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog, CatalogError, LambdaAlias
from tasks.deploy_history import lambda_key, previous_release, read_history
from tasks.plan import JsonDict, Plan
from tasks.rollback_regional import (
    InactiveReleaseError,
    NoKnownGoodReleaseError,
    RegionalStore,
    capacity_share,
    pick_regions,
)
from tasks.steps import aws_call
from tasks.traffic_lambda import IAM_ACTIONS as ALIAS_IAM_ACTIONS
from tasks.traffic_lambda import read_split, resource, version_number, write_split

KIND = "rollback.lambda"
IAM_ACTIONS = (*ALIAS_IAM_ACTIONS, "lambda:ListVersionsByFunction", "cloudtrail:LookupEvents")


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
    source: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan moving the alias in ``regions`` (default: every region with one) wholly to
    ``to_version`` (``source`` says where the caller found it), or to the version that ran
    before (see the module docstring). Raises NoKnownGoodReleaseError when nothing says which,
    InactiveReleaseError when the version does not exist."""
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.lambda_alias is not None, "a Lambda alias")
    aliases = {r: _alias(entry.region(r).lambda_alias) for r in chosen}
    params: JsonDict = {"regions": {r: a.model_dump(mode="json") for r, a in aliases.items()}}
    before = STORE.read(KIND, aws, params)
    targets = {r: _target(aws.in_region(r), aliases[r], before[r], to_version, source) for r in chosen}
    after = {r: {version: 100} for r, (version, _) in targets.items()}
    changes = ", ".join(f"{r} {before[r]}→{after[r]} ({targets[r][1]})" for r in chosen)
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
        params={**params, "to_version": to_version, "target_source": {r: t[1] for r, t in targets.items()}},
    )


def _alias(alias: LambdaAlias | None) -> LambdaAlias:
    if alias is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no Lambda alias in the catalog")
    return alias


def _target(
    aws: AwsTarget, alias: LambdaAlias, split: dict[str, int], to_version: str | None, source: str | None
) -> tuple[str, str]:
    """The existing version to roll back to, and where that choice came from."""
    if to_version is None:
        live = sorted(split, key=version_number)
        if len(live) > 1:
            to_version, source = live[-2], f"the alias still routes {split[live[-2]]}% to {live[-2]}"
        else:
            history = read_history(aws, lambda_key(alias.function, alias.alias), until=datetime.now(UTC))
            found = previous_release(live[0], trail=history.trail)
            if found is None:
                same = str.__eq__
                raise NoKnownGoodReleaseError(
                    f"{KIND} on {resource(alias)}: {history.unknown(live[0], same)}"
                )
            to_version, source = found.value, found.detail
    if to_version not in _versions(aws, alias):
        raise InactiveReleaseError(f"{KIND} on {resource(alias)}: version {to_version} does not exist")
    return to_version, source or "named by the caller"


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
