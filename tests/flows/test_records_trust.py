"""Records never steer an action unverified (issue 26, point 8): recover, Firebreak's own
changes and the history use a timeline only when its chain is anchored by a head the worker
host signed (flows.anchor), and recover re-derives targets, region, role and endpoint from the
catalog and the host instead of trusting the record."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drills import seed_names as n
from drills.seed import write_catalog
from drills.seed_region import deployer_client
from flows.anchor import RECORDS_KEY_ENV
from flows.history import load_history
from flows.own_changes import own_changes_in
from flows.records import REPORT, TIMELINE, LocalRecords
from flows.recover import recover
from flows.report import IncidentReport, MitigationRecord, MitigationStatus, Outcome
from flows.timeline import Stage, Timeline
from tasks.aws import AwsTarget, call, client
from tasks.catalog import Catalog
from tasks.plan import Plan
from tests.flows.conftest import World
from tests.flows.scripted import Script, approve
from tests.records_key import install_worker_key, with_record_signer

INCIDENT = "INC-20261201-0000-" + "f" * 32
VICTIM = "/payments/prod/api-key"
ATTACKER_ROLE = "arn:aws:iam::123456789012:role/attacker"
SIGNERS = with_record_signer({})["record_signers"]


def _forged_flag_plan(endpoint: str, flag: str) -> Plan:
    """A disable of ``flag`` whose record points at another parameter, role and endpoint: its
    inverse (what recover plans) would write the attacker's value there."""
    return Plan(
        kind="flags.disable.ssm", service=n.SERVICE, environment=n.ENVIRONMENT,
        aws=AwsTarget(region=n.PRIMARY_REGION, role_arn=ATTACKER_ROLE, endpoint_url=endpoint),
        targets=[f"ssm:{n.PRIMARY_REGION}:parameter{VICTIM}"], before={"enabled": True},
        after={"enabled": False}, blast_radius=1.0, summary=f"Disable flag {flag!r}",
        params={"flag": flag, "parameter": VICTIM, "on_value": "attacker-value"},
    )  # fmt: skip


def _record(world: World, plan: Plan) -> Timeline:
    settings = world.settings()
    timeline = Timeline(incident_id=INCIDENT, path=settings.incident_dir(INCIDENT) / TIMELINE)
    alert = world.alert(wait=False)
    timeline.add(
        Stage.DETECT, "alert", "alarm", fingerprint=alert.fingerprint, alert=alert.model_dump(mode="json")
    )
    timeline.add(
        Stage.RESOLVE, "applied", plan.summary, plan=plan.model_dump(mode="json"), plan_hash=plan.hash
    )
    return timeline


def _victim(world: World, value: str | None = None) -> str:
    ssm = client("ssm", world.sandbox.target())
    if value is not None:
        call(ssm, "put_parameter", Name=VICTIM, Value=value, Type="String", Overwrite=True)
    return str(call(ssm, "get_parameter", Name=VICTIM)["Parameter"]["Value"])


def test_recover_refuses_a_forged_timeline_that_would_write_another_parameter(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's attack: a forged ``applied`` (written without the worker's key) would make
    recover plan flags.enable.ssm on another parameter with the attacker's value, role and
    endpoint."""
    _victim(world, "off")
    worker_key = os.environ[RECORDS_KEY_ENV]
    monkeypatch.delenv(RECORDS_KEY_ENV)  # the forger does not hold the worker's key
    _record(world, _forged_flag_plan(world.sandbox.endpoint_url, n.FLAG_NEW_PRICING))
    monkeypatch.setenv(RECORDS_KEY_ENV, worker_key)

    with Script([approve("alice"), approve("bob")]):
        state = recover(incident_id=INCIDENT, settings=world.settings(), requester="dave", return_state=True)

    assert state.is_failed(), state.message
    assert "no head signed by a key the policy lists" in str(state.message)
    assert _victim(world) == "off"  # read back from moto: untouched


def test_recover_plans_from_the_catalog_not_from_a_signed_record(world: World) -> None:
    """Even a record the worker signed (a stolen key, an older catalog) does not choose the
    parameter, role or endpoint: the flag is looked up in the catalog and the host's AWS
    settings are used."""
    _victim(world, "off")
    assert world.flag() == "off"
    timeline = _record(world, _forged_flag_plan("http://attacker.invalid:4566", n.FLAG_NEW_PRICING))

    with Script([approve("alice"), approve("bob")]):
        state = recover(incident_id=INCIDENT, settings=world.settings(), requester="dave", return_state=True)

    # (the simulator then degrades checkout, since new-pricing-engine is its bad flag: the bake
    # fails, which is not what this test is about)
    assert _victim(world) == "off", state.message  # the record's parameter is not written
    assert world.flag() == "on"  # the catalog's parameter for that flag is (read back from moto)
    after = Timeline.load(timeline.path)
    undo = [Plan.model_validate(e.data["plan"]) for e in after.events("applied") if e.stage is Stage.RECOVER]
    assert [p.kind for p in undo] == ["flags.enable.ssm"]
    assert undo[0].aws == world.settings().aws(n.PRIMARY_REGION)  # host role, no endpoint_url
    assert undo[0].targets != [f"ssm:{n.PRIMARY_REGION}:parameter{VICTIM}"]
    assert undo[0].params["on_value"] != "attacker-value"


def test_recover_refuses_a_signed_record_naming_a_flag_the_catalog_lacks(world: World) -> None:
    _victim(world, "off")
    _record(world, _forged_flag_plan(world.sandbox.endpoint_url, "api-key"))

    with Script([approve("alice"), approve("bob")]):
        state = recover(incident_id=INCIDENT, settings=world.settings(), requester="dave", return_state=True)

    assert _victim(world) == "off"
    after = Timeline.load(world.settings().incident_dir(INCIDENT) / TIMELINE)
    refused = after.events("record-refused")
    assert len(refused) == 1 and "unknown flag 'api-key'" in refused[0].message, state.message


def _rollback_timeline(root: Path, incident_id: str) -> Timeline:
    timeline = Timeline(incident_id=incident_id, path=root / incident_id / TIMELINE)
    plan = {"kind": "rollback.ecs", "service": "checkout", "environment": "prod", "hash": "h1",
            "before": {"eu-west-1": "checkout:2"}, "after": {"eu-west-1": "checkout:1"}}  # fmt: skip
    timeline.add(Stage.RESOLVE, "applied", "rolled back", plan=plan, request_ids=["r-1"])
    return timeline


def test_own_changes_come_only_from_anchored_timelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_worker_key(tmp_path / "worker", monkeypatch)
    _rollback_timeline(tmp_path / "incidents", "INC-1")
    monkeypatch.delenv(RECORDS_KEY_ENV)
    _rollback_timeline(tmp_path / "incidents", "INC-2")  # forged: nobody signed it

    own = own_changes_in(LocalRecords(tmp_path / "incidents"), "checkout", "prod", signers=SIGNERS)

    assert [c.incident_id for c in own] == ["INC-1"]


def _report(incident_id: str, timeline: Timeline) -> IncidentReport:
    mitigation = MitigationRecord(
        hypothesis="rollback", kind="rollback.ecs", tier="automated", rule="r",
        status=MitigationStatus.APPLIED, verified=True,
    )  # fmt: skip
    return IncidentReport(
        incident_id=incident_id, service="checkout", environment="prod", region="eu-west-1",
        alert_name="ErrorRate", outcome=Outcome.MITIGATED, message="ok", mitigations=[mitigation],
        started_at=datetime(2026, 12, 1, tzinfo=UTC), timeline_path=str(timeline.path),
        chain_head=timeline.head,
    )  # fmt: skip


def test_the_history_ranks_only_anchored_incidents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "incidents"
    install_worker_key(tmp_path / "worker", monkeypatch)
    signed = _rollback_timeline(root, "INC-1")
    (root / "INC-1" / REPORT).write_text(_report("INC-1", signed).model_dump_json())
    monkeypatch.delenv(RECORDS_KEY_ENV)
    forged = _rollback_timeline(root, "INC-2")
    (root / "INC-2" / REPORT).write_text(_report("INC-2", forged).model_dump_json())

    history = load_history(LocalRecords(root), signers=SIGNERS)

    assert [r.incident_id for r in history.reports] == ["INC-1"]
    assert "no head signed" in history.unreadable["INC-2"]


def _uncatalogued_group(world: World) -> str:
    """An Auto Scaling group beside the seeded one that the catalog does not list, at 3
    instances (what the record below says the incident set)."""
    target = world.sandbox.target(n.PRIMARY_REGION)
    asg = deployer_client("autoscaling", target)
    seeded = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[n.ASG])["AutoScalingGroups"][0]
    asg.create_auto_scaling_group(
        AutoScalingGroupName="payments-prod",
        LaunchTemplate={"LaunchTemplateName": n.LAUNCH_TEMPLATE, "Version": "1"},
        MinSize=1, MaxSize=3, DesiredCapacity=3, VPCZoneIdentifier=seeded["VPCZoneIdentifier"],
    )  # fmt: skip
    return "payments-prod"


def _with_capacity_cap(world: World) -> None:
    data = world.catalog.model_dump(mode="json")
    data["services"][n.SERVICE][n.ENVIRONMENT]["regions"][n.PRIMARY_REGION]["capacity"] = {"max": 4}
    write_catalog(Catalog.model_validate(data), world.catalog_path)


def _group_sizes(world: World, name: str) -> tuple[int, int, int]:
    asg = client("autoscaling", world.sandbox.target(n.PRIMARY_REGION))
    group = call(asg, "describe_auto_scaling_groups", AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return group["DesiredCapacity"], group["MinSize"], group["MaxSize"]


def test_recover_refuses_a_signed_capacity_record_naming_a_group_the_catalog_lacks(world: World) -> None:
    """A record the worker signed whose scale-out names another team's group: recover would
    scale it back in (the undo writes the record's ``before``) if it kept the record's target."""
    name = _uncatalogued_group(world)
    _with_capacity_cap(world)  # the catalog's group may be scaled: only the name is wrong
    plan = Plan(
        kind="capacity.scale.asg", service=n.SERVICE, environment=n.ENVIRONMENT,
        aws=world.settings().aws(n.PRIMARY_REGION), targets=[f"autoscaling:{n.PRIMARY_REGION}:{name}"],
        before={"desired": 1, "min": 1, "max": 3}, after={"desired": 3, "min": 1, "max": 3},
        blast_radius=0.67, summary=f"Scale {name} out", params={"asg_name": name, "managed": False},
        capacity_factor=3.0,
    )  # fmt: skip
    timeline = _record(world, plan)

    with Script([approve("alice"), approve("bob")]):
        state = recover(incident_id=INCIDENT, settings=world.settings(), requester="dave", return_state=True)

    assert _group_sizes(world, name) == (3, 1, 3), state.message  # read back from moto: untouched
    refused = Timeline.load(timeline.path).events("record-refused")
    assert len(refused) == 1 and name in refused[0].message, state.message


def test_recover_refuses_a_signed_throttle_record_naming_a_stage_the_catalog_lacks(world: World) -> None:
    """The catalog lists no API Gateway stage for checkout: a signed throttle record naming one
    is refused before anything is read, let alone written."""
    plan = Plan(
        kind="throttle.apigateway", service=n.SERVICE, environment=n.ENVIRONMENT,
        aws=world.settings().aws(n.PRIMARY_REGION),
        targets=[f"apigateway:{n.PRIMARY_REGION}:/restapis/abc123/stages/prod"],
        before={"rate_limit": None, "burst_limit": None}, after={"rate_limit": 5.0, "burst_limit": 2},
        blast_radius=1.0, summary="Throttle", params={"rest_api": "abc123", "stage": "prod"},
    )  # fmt: skip
    timeline = _record(world, plan)

    with Script([approve("alice"), approve("bob")]):
        state = recover(incident_id=INCIDENT, settings=world.settings(), requester="dave", return_state=True)

    refused = Timeline.load(timeline.path).events("record-refused")
    assert len(refused) == 1 and "api_gateway" in refused[0].message, state.message
