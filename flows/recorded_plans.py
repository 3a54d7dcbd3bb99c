"""A recorded plan made actionable again: everything that says *where* comes from the catalog.

A timeline's ``applied`` plan says what the incident changed. Before ``recover`` acts on it,
what the plan would change is taken from the catalog and the host, not from the record:

- its service and environment must be the incident's (the alert's);
- a flag or breaker plan's parameter (or AppConfig profile), on value, target and region are
  looked up in the catalog by the flag's name (an unknown flag is refused);
- any other plan's region must be one of the service's catalogued regions, and its kind one
  whose resources the catalog locates (``LOCATORS``: the traffic shifts, the scale-outs, the
  throttle and the maintenance page); the record's ``targets`` and resource-locating ``params``
  (the Route 53 record, the ALB listener, the Lambda alias, the ECS service, the Auto Scaling
  group, the API's rest_api and stage, the listener and tag of the maintenance page) must equal
  what that kind's ``locate`` derives from the catalog for that service, environment and region,
  and a state keyed by resource (ALB target groups, Route 53 regions) may name only catalogued
  ones. Anything else is refused (CatalogError), never rebuilt into something the record did
  not apply;
- the AWS target (role, and no ``endpoint_url``) is the host's (``RunSettings.aws``): a role or
  endpoint in a record is never used, and never written back into a new plan.

The record's values (``before``, ``after``) are kept: recover acts only while the live state
still equals ``after``, and its undo writes ``before`` back through the gate. See
docs/security.md, Records.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.incident_run import IncidentRun
from tasks import (
    capacity_asg,
    capacity_ecs,
    maintenance_alb,
    throttle_apigateway,
    traffic_alb,
    traffic_lambda,
    traffic_route53,
)
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, CatalogError
from tasks.flags import BACKENDS, flag_store
from tasks.location import Location
from tasks.plan import Plan

FLAG_KINDS = ("flags.", "breaker.")

Locator = Callable[[Catalog, str, str, AwsTarget], Location]
LOCATORS: dict[str, Locator] = {
    traffic_route53.KIND: traffic_route53.locate,
    traffic_alb.KIND: traffic_alb.locate,
    traffic_lambda.KIND: traffic_lambda.locate,
    capacity_ecs.KIND: capacity_ecs.locate,
    capacity_asg.KIND: capacity_asg.locate,
    throttle_apigateway.KIND: throttle_apigateway.locate,
    maintenance_alb.ENABLE: maintenance_alb.locate,
    maintenance_alb.DISABLE: maintenance_alb.locate,
}


def rederived(plan: Plan, run: IncidentRun) -> Plan:
    """``plan`` with its targets, region, role and endpoint taken from the catalog and the host;
    CatalogError when the catalog does not name what the record names."""
    if (plan.service, plan.environment) != (run.service, run.environment):
        raise CatalogError(
            f"the record's plan is for {plan.service}/{plan.environment}, "
            f"not the incident's {run.service}/{run.environment}"
        )
    if plan.kind.startswith(FLAG_KINDS):
        store = flag_store(run.catalog, run.service, run.environment, str(plan.params.get("flag", "")))
        params, resource = BACKENDS[store.kind].locate(store, str(plan.params["flag"]))
        return plan.model_copy(
            update={"aws": run.aws(store.region), "targets": [resource], "params": {**plan.params, **params}}
        )
    if plan.aws.region not in run.entry.regions:
        raise CatalogError(
            f"the record's plan is in {plan.aws.region}, not a region of {run.service}/{run.environment} "
            f"({', '.join(run.entry.regions)})"
        )
    locate = LOCATORS.get(plan.kind)
    if locate is None:
        raise CatalogError(
            f"the catalog locates no resources for {plan.kind}: a record of it is not acted on"
        )
    aws = run.aws(plan.aws.region)
    location = locate(run.catalog, run.service, run.environment, aws)
    mismatch = location.mismatch(plan)
    if mismatch is not None:
        raise CatalogError(
            f"the record's plan names {mismatch} for {run.service}/{run.environment} in {aws.region}"
        )
    return plan.model_copy(update={"aws": aws})
