"""Runbooks are visible to other hosts and to open incidents (issue 24): a runbook's timeline
is kept in the shared records (the catalog's evidence bucket), so another host's incident knows
the change it made as Firebreak's own. Against Prefect and moto; the bucket is read back."""

from __future__ import annotations

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from flows.own_changes import own_changes_in
from flows.records import records_for
from flows.runbooks import rollback
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve
from tests.records_key import with_record_signer

SIGNERS = with_record_signer({})["record_signers"]


def test_a_runbooks_timeline_is_in_the_shared_records_and_its_change_is_firebreaks_own(world: World) -> None:
    """A runbook's timeline used to stay in the local folder of the host that ran it."""
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    settings = world.settings()
    with Script([approve("bob")]):
        state = rollback(
            service=n.SERVICE, environment=n.ENVIRONMENT, region=n.PRIMARY_REGION, settings=settings,
            requester="alice", return_state=True,
        )  # fmt: skip
    assert state.is_completed(), state.message
    entry = world.catalog.entry(n.SERVICE, n.ENVIRONMENT)
    assert entry.evidence_bucket
    shared = records_for(settings, entry)
    [runbook] = [i for i in shared.incident_ids() if i.startswith("RUN-")]
    assert shared.read(runbook, "timeline.json") is not None
    own = own_changes_in(shared, n.SERVICE, n.ENVIRONMENT, signers=SIGNERS)
    assert [(c.incident_id, c.kind) for c in own] == [(runbook, "rollback.ecs")]
