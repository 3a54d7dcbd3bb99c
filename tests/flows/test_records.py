"""Incident records any host can read: two local directories stand for two hosts, the records
are in the sandbox's (moto) evidence bucket. Host A runs the incident, host B recovers it and
lists it; everything is read back from moto."""

from __future__ import annotations

from typer.testing import CliRunner

from drills import seed_names as n
from firebreak.cli import app
from flows.history import load_history
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.own_changes import own_changes_in
from flows.records import TIMELINE, LocalRecords, open_shared_timeline, records_for
from flows.recover import recover
from flows.report import Outcome
from flows.timeline import Stage, Timeline
from tasks.aws import call, client
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve
from tests.records_key import with_record_signer

SIGNERS = with_record_signer({})["record_signers"]


def test_recover_on_host_b_undoes_what_host_a_applied_and_b_lists_it(world: World) -> None:
    healthy_weights = world.weights()
    world.simulator.degrade_region(n.PRIMARY_REGION)
    alert = world.alert()
    host_a = world.settings()
    host_b = host_a.model_copy(update={"output_dir": str(world.tmp / "host-b" / "incidents")})
    with Script([approve("alice")]):
        incident_response(alert=alert, settings=host_a, return_state=True)
    report, _ = world.report(alert, host_a)
    assert report.outcome is Outcome.MITIGATED and world.weights() != healthy_weights
    world.simulator.heal_region(n.PRIMARY_REGION)
    incident_id = incident_id_for(alert)

    with Script([approve("bob"), approve("bob")]):
        state = recover(incident_id=incident_id, settings=host_b, requester="bob", return_state=True)

    assert state.is_completed(), state.message
    assert world.weights() == healthy_weights  # read back from moto: host A's shift is undone
    store = records_for(host_b, world.catalog.entry(n.SERVICE, n.ENVIRONMENT))
    stored = store.read(incident_id, TIMELINE)
    assert stored is not None
    timeline = Timeline.model_validate_json(stored)
    assert timeline.first("recovered") is not None  # host B's recovery reached the shared record
    host_a_entries = world.report(alert, host_a)[1].entries
    assert [e.hash for e in timeline.entries[: len(host_a_entries)]] == [e.hash for e in host_a_entries]
    assert [r.incident_id for r in load_history(store).reports] == [incident_id]


def test_a_host_that_dies_mid_incident_leaves_its_timeline_to_the_next(world: World) -> None:
    host_a = world.settings()
    host_b = host_a.model_copy(update={"output_dir": str(world.tmp / "host-b" / "incidents")})
    entry = world.catalog.entry(n.SERVICE, n.ENVIRONMENT)
    store = records_for(host_a, entry)
    first = open_shared_timeline(host_a, "INC-20261201-0000-abcdef", store)
    first.add(Stage.DETECT, "alert", "alarm fired")
    first.add(Stage.RESOLVE, "applied", "traffic shifted", plan={"kind": "traffic.shift.route53"})
    # host A is gone here: no report, only the entries it wrote

    again = open_shared_timeline(host_b, "INC-20261201-0000-abcdef", records_for(host_b, entry))
    again.add(Stage.DETECT, "restarted", "incident run started again")

    assert [e.event for e in again.entries] == ["alert", "applied", "restarted"]
    assert again.entries[2].prev == first.entries[1].hash  # the chain continues on host B
    assert entry.evidence_bucket is not None
    result = CliRunner().invoke(
        app,
        ["timeline", "verify", "INC-20261201-0000-abcdef", "--bucket", entry.evidence_bucket,
         "--region", entry.primary_region, "--policy", str(world.tmp / "policy.yaml")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 entries, chain intact" in result.output and "metadata" in result.output


def test_host_b_knows_the_change_host_a_applied_as_firebreaks_own(world: World) -> None:
    """Host B's diagnosis must not blame the change host A made: it reads host A's records."""
    host_a = world.settings()
    host_b = host_a.model_copy(update={"output_dir": str(world.tmp / "host-b" / "incidents")})
    entry = world.catalog.entry(n.SERVICE, n.ENVIRONMENT)
    timeline = open_shared_timeline(host_a, "INC-20261201-0001-abcdef", records_for(host_a, entry))
    region = n.PRIMARY_REGION
    plan = {"kind": "rollback.ecs", "service": n.SERVICE, "environment": n.ENVIRONMENT,
            "before": {region: "checkout:2"}, "after": {region: "checkout:1"}}  # fmt: skip
    timeline.add(Stage.RESOLVE, "applied", "rollback.ecs", plan_hash="h1", request_ids=["r1"], plan=plan)

    [own] = own_changes_in(records_for(host_b, entry), n.SERVICE, n.ENVIRONMENT, signers=SIGNERS)

    assert (own.incident_id, own.plan_hash, own.request_ids) == ("INC-20261201-0001-abcdef", "h1", ["r1"])
    host_b_dir = LocalRecords(world.tmp / "host-b" / "incidents")
    assert own_changes_in(host_b_dir, n.SERVICE, n.ENVIRONMENT, signers=SIGNERS) == []


def test_a_timeline_put_back_from_an_older_version_fails_verify(world: World) -> None:
    """S3 versioning keeps every head the worker wrote: an older signed copy put back as the
    newest version (entries cut off) disagrees with the versions written after it."""
    host = world.settings()
    entry = world.catalog.entry(n.SERVICE, n.ENVIRONMENT)
    assert entry.evidence_bucket is not None
    incident_id = "INC-20261201-0000-" + "a" * 32
    timeline = open_shared_timeline(host, incident_id, records_for(host, entry))
    timeline.add(Stage.DETECT, "alert", "alarm fired")
    timeline.add(Stage.RESOLVE, "approval-answer", "rejected", actor="alice")
    s3 = client("s3", world.sandbox.target(entry.primary_region))
    key = f"{incident_id}/{TIMELINE}"
    timeline.add(Stage.RESOLVE, "approval-answer", "approved", actor="alice")
    versions = call(s3, "list_object_versions", Bucket=entry.evidence_bucket, Prefix=key)["Versions"]
    first = versions[-1]  # S3 lists a key's versions newest first: this one holds the first entry
    old = call(s3, "get_object", Bucket=entry.evidence_bucket, Key=key, VersionId=first["VersionId"])
    bucket = entry.evidence_bucket
    call(s3, "put_object", Bucket=bucket, Key=key, Body=old["Body"].read(), Metadata=old["Metadata"])

    result = CliRunner().invoke(
        app,
        ["timeline", "verify", incident_id, "--bucket", bucket, "--region", entry.primary_region,
         "--policy", str(world.tmp / "policy.yaml")],
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "missing tail" in result.output and "version" in result.output
