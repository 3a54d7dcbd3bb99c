"""Firebreak never blames its own changes: read from its incident records, matched to the evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drills import moto_gaps
from flows.diagnosis import HypothesisKind, diagnose
from flows.own_changes import own_change_lines, own_changes_in
from flows.records import LocalRecords
from flows.timeline import Stage, Timeline
from tasks.actions import apply_plan
from tasks.aws import AwsTarget
from tasks.catalog import RegionResources
from tasks.rollback import plan_ecs_rollback
from tasks.snapshot import take_snapshot
from tests.flows.bundles import ARN, BAD, ENTRY, applied, bundle, deploy, region, write
from tests.records_key import install_worker_key, with_record_signer
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client

SIGNERS = with_record_signer({})["record_signers"]


@pytest.fixture(autouse=True)
def _worker_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The records here are written by a host with a records key (flows.anchor)."""
    install_worker_key(tmp_path_factory.mktemp("worker"), monkeypatch)


def _record(directory: Path, incident: str, plan: dict[str, Any], request_ids: list[str]) -> None:
    timeline = Timeline.open(incident, directory / incident / "timeline.json")
    timeline.add(Stage.RESOLVE, "decision", "rollback.ecs: approval")
    timeline.add(
        Stage.RESOLVE, "applied", "rollback.ecs: changed", plan_hash="h1", request_ids=request_ids, plan=plan
    )


def test_records_list_the_changes_applied_to_the_service(tmp_path: Path) -> None:
    plan = {"kind": "rollback.ecs", "service": "checkout", "environment": "prod", "before": {BAD: "a:4"},
            "after": {BAD: "a:2"}}  # fmt: skip
    _record(tmp_path, "INC-1", plan, ["req-1"])
    _record(tmp_path, "INC-2", {**plan, "service": "payments"}, ["req-2"])
    (tmp_path / "INC-3").mkdir()
    (tmp_path / "INC-3" / "timeline.json").write_text("{not json")
    [own] = own_changes_in(LocalRecords(tmp_path), "checkout", "prod", signers=SIGNERS)
    assert (own.incident_id, own.kind, own.plan_hash, own.request_ids) == (
        "INC-1",
        "rollback.ecs",
        "h1",
        ["req-1"],
    )
    assert own.released(BAD) == "a:2" and own.released(BAD, "before") == "a:4"
    assert own_changes_in(LocalRecords(tmp_path / "missing"), "checkout", "prod", signers=SIGNERS) == []


def test_a_change_with_firebreaks_request_id_is_no_hypothesis_and_is_listed() -> None:
    mine = deploy(after=2, write=write("req-firebreak"), before=f"{ARN}:4", history=None)
    own = [applied(2, minutes_before_onset=4)]
    hypotheses = diagnose(bundle(mine), ENTRY, own)
    assert HypothesisKind.ROLLBACK not in {h.kind for h in hypotheses}
    [line] = own_change_lines([mine], own)
    assert line.startswith("Firebreak's own change: PRIMARY deployment of checkout:2")
    assert "rollback.ecs plan 0123456789abcdef applied by INC-20261124-0240-abcdef" in line


def test_a_call_marked_firebreak_in_cloudtrail_is_no_hypothesis_without_a_record() -> None:
    by_agent = deploy(
        after=2, before=f"{ARN}:4", write=write("req-x", user_agent="Boto3/1.44 md/Botocore firebreak")
    )
    by_role = deploy(after=2, before=f"{ARN}:4", write=write("req-y", caller="assumed-role/ir/firebreak"))
    for change in (by_agent, by_role):
        assert HypothesisKind.ROLLBACK not in {h.kind for h in diagnose(bundle(change), ENTRY)}
        assert own_change_lines([change], []) != []


def test_someone_elses_deploy_is_still_a_suspect() -> None:
    theirs = deploy(after=4, before=f"{ARN}:2", write=write("req-deployer"))
    own = [applied(2, minutes_before_onset=30, request_id="req-firebreak")]
    assert HypothesisKind.ROLLBACK in {h.kind for h in diagnose(bundle(theirs), ENTRY, own)}
    assert own_change_lines([theirs], own) == []


def test_without_cloudtrail_the_release_firebreak_set_is_recognised() -> None:
    mine = deploy(after=2, before=f"{ARN}:4")  # no write: CloudTrail was not readable
    own = [applied(2, minutes_before_onset=3)]
    assert HypothesisKind.ROLLBACK not in {h.kind for h in diagnose(bundle(mine), ENTRY, own)}


@pytest.fixture
def gaps() -> None:
    moto_gaps.install()  # CloudTrail records the calls, as the sandbox's does


def test_after_firebreaks_rollback_a_second_alert_does_not_roll_back_again(
    gaps: None, aws: AwsTarget, tmp_path: Path
) -> None:
    """The first incident rolled 4 back to 2; the second alert's snapshot shows Firebreak's deploy."""
    svc = seed.seed_ecs(EAST, revisions=4, deployed=[2, 4])
    catalog = seed.catalog({EAST: RegionResources(ecs=svc)})
    plan = plan_ecs_rollback(catalog=catalog, service=SERVICE, environment=ENV, aws=aws)
    done = apply_plan(plan)
    _record(tmp_path, "INC-1", plan.model_dump(mode="json"), done.request_ids)
    own = own_changes_in(LocalRecords(tmp_path), SERVICE, ENV, signers=SIGNERS)

    evidence = take_snapshot(
        catalog=catalog, service=SERVICE, environment=ENV, onset=datetime.now(UTC), aws=aws
    )
    [latest] = [c for c in evidence.changes if c.kind == "ecs.deploy"]
    assert str(latest.after).endswith("/checkout-web:2") and str(latest.before).endswith("/checkout-web:4")
    assert latest.write is not None and latest.write.request_id in done.request_ids
    entry = catalog.entry(SERVICE, ENV)
    unhealthy = evidence.model_copy(update={"regions": {EAST: region(EAST, 25.0)}, "onset": latest.at})
    assert HypothesisKind.ROLLBACK not in {h.kind for h in diagnose(unhealthy, entry, own)}
    # The same change without tasks.aws's user-agent mark: the incident record alone recognises it.
    unmarked = latest.model_copy(update={"write": latest.write.model_copy(update={"user_agent": "Boto3"})})
    anonymous = unhealthy.model_copy(update={"changes": [unmarked]})
    assert HypothesisKind.ROLLBACK not in {h.kind for h in diagnose(anonymous, entry, own)}
    assert HypothesisKind.ROLLBACK in {h.kind for h in diagnose(anonymous, entry)}  # unrecognised: blamed
    [line] = own_change_lines(evidence.changes, own)
    assert "Firebreak's own change" in line and "INC-1" in line
    svc_now = raw_client("ecs", EAST).describe_services(cluster="checkout", services=["web"])["services"][0]
    assert svc_now["taskDefinition"].endswith("checkout-web:2")


class _Counting(LocalRecords):
    """LocalRecords that counts the timelines read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.timelines_read: list[str] = []

    def read(self, incident_id: str, name: str) -> bytes | None:
        if name == "timeline.json":
            self.timelines_read.append(incident_id)
        return super().read(incident_id, name)


def test_the_scan_of_own_changes_is_bounded_by_time(tmp_path: Path) -> None:
    """Issue 24: every incident's timeline was read, however old; now only incidents whose onset
    (in their id) is at or after ``since``; an id without an onset is still read."""
    plan = {"kind": "rollback.ecs", "service": "checkout", "environment": "prod", "before": {BAD: "a:4"},
            "after": {BAD: "a:2"}}  # fmt: skip
    old, recent, odd = "INC-20261101-0900-aaaa", "INC-20261207-0900-bbbb", "INC-odd"
    for incident, request in ((old, "req-old"), (recent, "req-new"), (odd, "req-odd")):
        _record(tmp_path, incident, plan, [request])
    records = _Counting(tmp_path)
    since = datetime(2026, 11, 30, tzinfo=UTC)
    own = own_changes_in(records, "checkout", "prod", signers=SIGNERS, since=since)
    assert sorted(c.incident_id for c in own) == sorted([odd, recent])
    assert old not in records.timelines_read
