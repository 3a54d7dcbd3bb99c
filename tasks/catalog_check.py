"""What each mitigation needs from the catalog, and where a catalog lacks it. Pure.

A catalog can load (every field valid) and still describe a runbook that cannot work: a Route 53
shift away from a region without a ``role: traffic`` metric there is planned, approved, applied
and only then found unverifiable. :func:`catalog_gaps` names every such gap before anyone is
asked (``firebreak catalog check``); :func:`unverifiable_shift` is the same rule at planning
time, so such a shift is never offered (flows/resolve.py).

What is checked, per service, environment and region:

- a signal metric (``role: signal``): without one no alert there can be confirmed and no fix
  verified;
- with ``traffic: route53``: each region needs a ``role: traffic`` metric, or a shift away from
  it cannot be verified (the bake watches its traffic fall);
- with an ``outage_threshold``: the maintenance page needs an ALB listener in the region.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tasks.catalog import Catalog, MetricRole, ServiceEnvironment, TrafficMechanism


class CatalogGap(BaseModel):
    """One mitigation that cannot work as the catalog stands, and the field that would fix it."""

    model_config = ConfigDict(frozen=True)

    service: str
    environment: str
    region: str
    field: str
    mitigation: str
    lacks: str

    def __str__(self) -> str:
        where = f"services.{self.service}.{self.environment}.{self.field}"
        return f"{where}: {self.mitigation} in {self.region}: {self.lacks}"


def unverifiable_shift(entry: ServiceEnvironment, region: str) -> str | None:
    """Why a Route 53 shift away from ``region`` cannot be verified, or None when it can."""
    if entry.traffic_mechanism is not TrafficMechanism.ROUTE53:
        return None
    if region not in entry.regions:
        return f"{region} is not among the catalog's regions"
    if entry.regions[region].traffic_metric() is None:
        return f"{region} has no metric with role: traffic, so a shift away from it cannot be verified"
    return None


def catalog_gaps(catalog: Catalog) -> list[CatalogGap]:
    """Every gap of every service environment, in catalog order."""
    gaps: list[CatalogGap] = []
    for service, environments in catalog.services.items():
        for environment, entry in environments.items():
            gaps += _entry_gaps(service, environment, entry)
    return gaps


def _entry_gaps(service: str, environment: str, entry: ServiceEnvironment) -> list[CatalogGap]:
    def gap(region: str, field: str, mitigation: str, lacks: str) -> CatalogGap:
        return CatalogGap(
            service=service,
            environment=environment,
            region=region,
            field=field,
            mitigation=mitigation,
            lacks=lacks,
        )

    found: list[CatalogGap] = []
    for region, resources in entry.regions.items():
        field = f"regions.{region}.metrics"
        if not any(m.role is MetricRole.SIGNAL for m in resources.metrics):
            found.append(
                gap(region, field, "confirming alerts and verifying every fix", "no metric with role: signal")
            )
        if entry.traffic_mechanism is TrafficMechanism.ROUTE53 and resources.traffic_metric() is None:
            found.append(
                gap(
                    region,
                    field,
                    "shift_traffic (route53) away from it",
                    "no metric with role: traffic to verify the drain",
                )
            )
        if entry.outage_threshold is not None and resources.alb is None:
            found.append(
                gap(region, f"regions.{region}.alb", "the maintenance page", "no ALB listener to answer it")
            )
    return found
