"""What every regional rollback shares: state per region, one step per region, undo on failure.

State shape: ``{region: value}`` where the value is whatever identifies the running release in
that region (an ECS task-definition ARN, an ASG launch-template version). Rolling back a
service in three regions is three AWS calls; if region 2 fails, region 1 is put back and a
PartialApplyError says so, so the service never runs two releases because of us.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from tasks.aws import AwsTarget
from tasks.catalog import CatalogError, RegionResources, ServiceEnvironment
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import Step, run_steps


class NoKnownGoodReleaseError(ActionError):
    """No record says what ran before the live release: no automated rollback.

    The message says what is known (which sources were read, what they showed), for the human
    who gets the incident instead.
    """


class InactiveReleaseError(ActionError):
    """The release to roll back to no longer exists or is not ACTIVE (deregistered, deleted)."""


class RegionalResource(Protocol):
    """Reads and sets the release of one kind of resource in one region."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any: ...

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str: ...


class RegionalStore:
    """A StateStore over ``plan.params["regions"] = {region: resource spec}``."""

    def __init__(self, resource: RegionalResource) -> None:
        self._resource = resource

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        return {
            region: self._resource.read_region(kind, aws.in_region(region), spec)
            for region, spec in sorted(params["regions"].items())
        }

    def write(self, plan: Plan) -> list[str]:
        def set_to(region: str, value: Any) -> Callable[[], str]:
            spec = plan.params["regions"][region]
            return partial(self._resource.write_region, plan.kind, plan.aws.in_region(region), spec, value)

        steps = [
            Step(
                f"{plan.kind} in {region}",
                set_to(region, plan.after[region]),
                set_to(region, plan.before[region]),
            )
            for region in sorted(plan.after)
            if plan.after[region] != plan.before.get(region)
        ]
        return run_steps(plan.kind, steps)


def pick_regions(
    entry: ServiceEnvironment,
    regions: list[str] | None,
    has: Callable[[RegionResources], bool],
    what: str,
) -> list[str]:
    """The requested regions (all catalogued ones having ``what`` when None), validated."""
    chosen = regions if regions is not None else [r for r, res in entry.regions.items() if has(res)]
    if not chosen:
        raise CatalogError(f"no region has {what} in the catalog")
    for region in chosen:
        if not has(entry.region(region)):
            raise CatalogError(f"region {region!r} lacks {what} in the catalog")
    return sorted(chosen)


def capacity_share(entry: ServiceEnvironment, before: JsonDict, after: JsonDict) -> float:
    """Blast radius of a regional rollback: the share of the service's regions that change."""
    changed = sum(1 for region in after if after[region] != before.get(region))
    return round(changed / len(entry.regions), 4)
