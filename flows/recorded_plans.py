"""A recorded plan made actionable again: everything that says *where* is re-derived.

A timeline's ``applied`` plan says what the incident changed. Before ``recover`` acts on it,
what the plan would change is taken from the catalog and the host, not from the record:

- its service and environment must be the incident's (the alert's);
- a flag or breaker plan's parameter (or AppConfig profile), on value, target and region are
  looked up in the catalog by the flag's name (an unknown flag is refused);
- any other plan's region must be one of the service's catalogued regions;
- the AWS target (role, and no ``endpoint_url``) is the host's (``RunSettings.aws``): a role or
  endpoint in a record is never used, and never written back into a new plan.

Other kinds' targets (traffic weights, capacity, throttles, the maintenance listener) are still
the record's; the gate and the verification read them live. See docs/security.md, Records.
"""

from __future__ import annotations

from flows.incident_run import IncidentRun
from tasks.catalog import CatalogError
from tasks.flags import BACKENDS, flag_store
from tasks.plan import Plan

FLAG_KINDS = ("flags.", "breaker.")


def rederived(plan: Plan, run: IncidentRun) -> Plan:
    """``plan`` with its targets, region, role and endpoint taken from the catalog and the host;
    CatalogError when the catalog does not know what the record names."""
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
    return plan.model_copy(update={"aws": run.aws(plan.aws.region)})
