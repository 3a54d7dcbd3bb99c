"""What the two scale-out actions share: the pure sizing rule, the plan, and the wait for capacity.

State shape for both kinds: ``{"desired": n, "min": m, "max": M}``. For ECS ``min``/``max`` are
the Application Auto Scaling target's bounds (None when no scalable target manages the
service); for an ASG they are the group's MinSize/MaxSize. Where an autoscaler manages the
count, the minimum is raised with the desired count, or the autoscaler would scale straight back.

A write waits until the running count (ECS ``runningCount``, the ASG's InService instances)
equals the desired count, for at most :data:`SERVING_TIMEOUT_SECONDS`: capacity that was asked
for but does not run helps nobody, and verify reads the same count again (the stores are
:class:`tasks.steps.ServingStore`s).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tasks.aws import AwsTarget
from tasks.catalog import Capacity, Catalog, CatalogError, RegionResources
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan

SERVING_TIMEOUT_SECONDS = 600.0
SERVING_POLL_SECONDS = 5.0


class AtCapError(ActionError):
    """The service already runs at (or above) the catalog's capacity cap: nothing to add."""


class CapacityNotServingError(ActionError):
    """The new desired count was set, but the running count did not reach it in time."""


def scale_out(before: JsonDict, capacity: Capacity, *, managed: bool, what: str) -> JsonDict:
    """The sizes after one step out: desired + step, never above ``capacity.max``, never zero.

    ``managed``: an autoscaler owns the count, so the minimum rises to the new desired count.
    A maximum below the new count rises to it (AWS refuses desired > max).

    >>> scale_out({"desired": 4, "min": 2, "max": 5}, Capacity(max=6, step=3), managed=True, what="x")
    {'desired': 6, 'min': 6, 'max': 6}
    """
    desired = int(before["desired"])
    if desired >= capacity.max:
        raise AtCapError(f"{what}: desired count {desired} is already at its cap of {capacity.max}")
    new = max(1, min(desired + capacity.step, capacity.max))
    low, high = before["min"], before["max"]
    return {
        "desired": new,
        "min": max(low, new) if managed and low is not None else low,
        "max": max(high, new) if high is not None else None,
    }


def capacity_factor(before: JsonDict, after: JsonDict) -> float:
    """New desired count over the old one (from zero, over one: the plan adds whole units)."""
    return round(int(after["desired"]) / max(int(before["desired"]), 1), 4)


def region_capacity(
    catalog: Catalog, service: str, environment: str, region: str
) -> tuple[RegionResources, Capacity]:
    """The region's resources and its capacity cap, or a CatalogError saying the cap is missing."""
    resources = catalog.entry(service, environment).region(region)
    if resources.capacity is None:
        raise CatalogError(f"{service}/{environment} has no capacity cap in {region} in the catalog")
    return resources, resources.capacity


def plan_scale_out(
    *,
    kind: str,
    service: str,
    environment: str,
    aws: AwsTarget,
    location: Location,
    before: JsonDict,
    capacity: Capacity,
    managed: bool,
) -> Plan:
    """The scale-out plan for the one resource at ``location`` whose live sizes are ``before``."""
    resource = location.targets[0]
    after = scale_out(before, capacity, managed=managed, what=f"{kind} on {resource}")
    factor = capacity_factor(before, after)
    added = int(after["desired"]) - int(before["desired"])
    return Plan(
        kind=kind,
        service=service,
        environment=environment,
        aws=aws,
        targets=location.targets,
        before=before,
        after=after,
        # A scale-out takes nothing away from anyone; the share of capacity that is new is
        # what the change touches. The policy caps it by capacity_factor.
        blast_radius=round(added / int(after["desired"]), 4),
        summary=f"Scale {resource} out: desired {before['desired']}→{after['desired']} "
        f"(x{factor:g}, cap {capacity.max})"
        + (f", minimum {before['min']}→{after['min']}" if after["min"] != before["min"] else ""),
        params={**location.params, "managed": managed},
        capacity_factor=factor,
    )


def wait_serving(kind: str, resource: str, desired: int, running: Callable[[], int]) -> None:
    """Return once ``running()`` equals ``desired``; CapacityNotServingError after the timeout."""
    deadline = time.monotonic() + SERVING_TIMEOUT_SECONDS
    while (count := running()) != desired:
        if time.monotonic() > deadline:
            raise CapacityNotServingError(
                f"{kind} on {resource}: {count} running after {SERVING_TIMEOUT_SECONDS:.0f} s, "
                f"desired {desired}"
            )
        time.sleep(SERVING_POLL_SECONDS)
