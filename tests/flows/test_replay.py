"""Replay (flows.replay) on real drill records (tests/fixtures/drill_records, see its README).

Under the very policy and catalog a drill ran with, nothing changes; a stricter and a looser
policy change exactly the decisions they should; records written before replay existed replay
their decisions and say what they lack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.history import load_history
from flows.records import LocalRecords
from flows.replay import IncidentReplay, replay_incident, summarize
from flows.replay_decisions import ChangeKind
from flows.replay_records import read_incident
from policies import Policy, Tier, load_policy
from policies.loader import parse_policy
from tasks.catalog import Catalog, load_catalog

FIXTURES = Path(__file__).parent.parent / "fixtures"
DRILLS = FIXTURES / "drill_records"
SCENARIOS = sorted(p.name for p in DRILLS.iterdir() if p.is_dir())


def replay_scenario(scenario: Path, policy: Policy, catalog: Catalog | None = None) -> list[IncidentReplay]:
    reader = LocalRecords(scenario / "incidents")
    reports = load_history(reader).reports
    assert reports, f"no records under {scenario}"
    return [replay_incident(read_incident(reader, r), policy, catalog) for r in reports]


def policy_data(scenario: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DRILLS / scenario / "policy.yaml").read_text())
    return data


def rule(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["rules"] if r["name"] == name)
    return found


def test_the_fixtures_hold_several_scenarios() -> None:
    assert {"bad-deploy", "bad-flag", "false-alarm", "kill-switch", "regional-degradation"} <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_same_policy_and_catalog_change_nothing(scenario: str) -> None:
    folder = DRILLS / scenario
    for catalog in (None, load_catalog(folder / "catalog.yaml")):  # the recorded entry, then the file
        replays = replay_scenario(folder, load_policy(folder / "policy.yaml"), catalog)
        for r in replays:
            assert r.changes == [] and r.lacks == [], r
            assert r.top_now == r.top_then  # None for an alert never confirmed (false-alarm)
            assert all(a.tier_now.value == a.tier_then and a.assumed == [] for a in r.actions)
            assert bool(r.actions) == (r.top_then is not None)
        assert summarize(replays).changed == 0


def test_a_stricter_policy_asks_for_approval_and_a_freeze_stops_rollbacks() -> None:
    data = policy_data("bad-flag")
    rule(data, "flag-containment")["tier"] = "approval"
    flags = {
        "name": "prod-flags",
        "actions": ["flags.*"],
        "environments": ["prod"],
        "groups": ["oncall-leads"],
    }
    data["approvals"].insert(0, flags)
    december = {"start": "2026-12-01T00:00:00+00:00", "end": "2027-01-01T00:00:00+00:00"}
    data["guardrails"]["freeze_windows"] = [{"name": "december", **december, "actions": ["rollback.*"]}]
    stricter = parse_policy(yaml.safe_dump(data), source="stricter.yaml")

    [flag] = replay_scenario(DRILLS / "bad-flag", stricter)
    [deploy] = replay_scenario(DRILLS / "bad-deploy", stricter)

    [disable] = flag.actions
    assert (disable.kind, disable.tier_then) == ("flags.disable.ssm", "automated")
    assert disable.tier_now is Tier.APPROVAL
    assert disable.approval_now == "prod-flags: 1 of alice, bob" and disable.guardrails_now == []
    assert flag.changes == [ChangeKind.TIER, ChangeKind.APPROVAL]
    [rollback] = deploy.actions
    assert (rollback.tier_then, rollback.tier_now) == ("approval", Tier.DENIED)
    assert rollback.guardrails_now == [
        f"freeze_window:december: change freeze {december['start']} to {december['end']} is active"
    ]
    assert deploy.top_now == deploy.top_then == "rollback"  # the policy does not touch the diagnosis
    assert summarize([flag, deploy]).changes == {
        "approval now needed": 1,
        "guardrail would now stop it": 1,
        "tier approval -> denied": 1,
        "tier automated -> approval": 1,
    }


def test_a_looser_policy_automates_rollbacks_and_large_shifts() -> None:
    data = policy_data("regional-degradation")
    rule(data, "rollbacks")["tier"] = "automated"
    rule(data, "large-traffic-shift")["tier"] = "automated"
    looser = parse_policy(yaml.safe_dump(data), source="looser.yaml")

    [deploy] = replay_scenario(DRILLS / "bad-deploy", looser)
    [regional] = replay_scenario(DRILLS / "regional-degradation", looser)
    [flag] = replay_scenario(DRILLS / "bad-flag", looser)

    assert [(a.kind, a.tier_then, a.tier_now) for a in deploy.actions] == [
        ("rollback.ecs", "approval", Tier.AUTOMATED)
    ]
    assert [a.stage for a in regional.actions] == ["resolve", "recover", "recover"]  # the drill recovered too
    moved = [(a.tier_then, a.tier_now) for a in regional.actions if a.changes]
    assert moved == [("approval", Tier.AUTOMATED)]
    assert all(a.approval_now is None and a.guardrails_now == [] for a in deploy.actions + regional.actions)
    assert flag.changes == []  # already automated
    summary = summarize([deploy, regional, flag])
    assert (summary.incidents, summary.changed, summary.changes) == (3, 2, {"tier approval -> automated": 2})


def test_a_new_catalog_changes_the_diagnosis() -> None:
    folder = DRILLS / "bad-flag"
    data = yaml.safe_load((folder / "catalog.yaml").read_text())
    del data["services"]["checkout"]["prod"]["flags"]  # the flag is no longer catalogued
    catalog = Catalog.model_validate(data)

    [flag] = replay_scenario(folder, load_policy(folder / "policy.yaml"), catalog)

    assert flag.top_then == "disable_flag" and flag.top_now not in (None, "disable_flag")
    assert ChangeKind.TOP_HYPOTHESIS in flag.changes
    assert flag.notes == [f"{flag.top_now} was not planned then: its action is not re-decided"]


def test_a_catalog_without_the_service_says_so() -> None:
    folder = DRILLS / "bad-flag"
    data = yaml.safe_load((folder / "catalog.yaml").read_text())
    data["services"] = {"other": data["services"]["checkout"]}

    [flag] = replay_scenario(folder, load_policy(folder / "policy.yaml"), Catalog.model_validate(data))

    assert flag.top_now is None and flag.changes == []
    assert flag.lacks == ["the new catalog: unknown service 'checkout' (catalog has: other)"]


def test_records_from_before_replay_replay_their_decisions_and_say_what_they_lack() -> None:
    folder = FIXTURES / "drill_records_before_replay" / "bad-deploy"
    data = yaml.safe_load((folder / "policy.yaml").read_text())
    rule(data, "rollbacks")["tier"] = "automated"

    [same] = replay_scenario(folder, load_policy(folder / "policy.yaml"))
    [looser] = replay_scenario(folder, parse_policy(yaml.safe_dump(data), source="looser.yaml"))

    assert same.lacks == [
        "no evidence.json (kept since replay was added)",
        "no diagnosis.json (kept since replay was added)",
    ]
    assert same.top_then == "rollback" and same.top_now is None and same.changes == []
    [rollback] = same.actions
    assert rollback.tier_then == rollback.tier_now.value == "approval"
    assert rollback.assumed == [
        "request and context not recorded: rebuilt from the plan, report severity, entry time",
        "plan verified: taken from its verified_plan guardrail",
        "kill switch: taken from its kill_switch guardrail",
        "rate-limit counts not recorded: taken as 0",
    ]
    assert [(a.tier_then, a.tier_now) for a in looser.actions] == [("approval", Tier.AUTOMATED)]
    assert summarize([same, looser]).incomplete == 2


def test_an_old_decision_with_nothing_to_rebuild_its_context_from_is_named() -> None:
    folder = FIXTURES / "drill_records_before_replay" / "bad-deploy"
    reader = LocalRecords(folder / "incidents")
    [report] = load_history(reader).reports
    records = read_incident(reader, report.model_copy(update={"severity": None}))
    assert records.timeline is not None
    [decision] = records.timeline.events("decision")

    replay = replay_incident(records, load_policy(folder / "policy.yaml"))

    assert replay.actions == []
    assert replay.lacks[-1] == (
        f"decision at {decision.at.isoformat()}: no recorded context and no severity in the report"
    )
