"""A runbook that cannot work is found before anyone is asked (issue 24): a Route 53 shift away
from a region without a ``role: traffic`` metric is not offered; the next hypothesis or a person
gets the incident. Against Prefect, moto and the simulator; the weights are read back."""

from __future__ import annotations

from drills import seed_names as n
from drills.seed import write_catalog
from flows.incident import incident_response
from flows.report import Outcome
from tasks.catalog import MetricRole
from tests.flows.conftest import World
from tests.flows.scripted import Script, done


def test_a_shift_that_cannot_be_verified_is_not_offered_and_a_person_gets_the_incident(world: World) -> None:
    """The shift used to be planned, approved and applied, and the run then failed on
    CatalogError: a shift away from it cannot be verified, paging nobody."""
    entry = world.catalog.entry(n.SERVICE, n.ENVIRONMENT)
    region = entry.region(n.PRIMARY_REGION)
    metrics = [m for m in region.metrics if m.role is not MetricRole.TRAFFIC]
    regions = {**entry.regions, n.PRIMARY_REGION: region.model_copy(update={"metrics": metrics})}
    services = {n.SERVICE: {n.ENVIRONMENT: entry.model_copy(update={"regions": regions})}}
    catalog = world.catalog.model_copy(update={"services": services})
    write_catalog(catalog, world.catalog_path)  # the host's catalog (FIREBREAK_CATALOG_FILE)
    weights = world.weights()
    world.simulator.degrade_region(n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    with Script([done("alice")]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert state.is_completed() and report.outcome is Outcome.ESCALATED, report.message
    assert world.weights() == weights  # read back: nothing moved
    assert not timeline.events("approval-requested") and [s.kind for s in humans.steps] == ["human"]
    [skipped] = timeline.events("not-offered")
    assert "no metric with role: traffic" in skipped.message
