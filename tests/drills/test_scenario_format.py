"""The scenario format: both fault forms, faults' timing, the policy field, approval timeouts,
final-state expectations (read back from a seeded sandbox) and incident-run counting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import flow
from prefect.testing.utilities import prefect_test_harness

from alerts.generic import parse_generic
from drills import seed_names as n
from drills.alerting import drill_alert, refired
from drills.drill_policy import deep_merge, write_drill_policy
from drills.faults import inject_bad_deploy, inject_bad_lambda
from drills.intake import count_incident_runs, generic_payload
from drills.observe import observe
from drills.sandbox import Sandbox
from drills.scenario import FaultKind, Scenario, ScenarioError, Switch, load_scenario, scenario_policy
from drills.scorecard import final_state_checks
from flows.incident_run import incident_id_for
from policies import Mode, load_policy
from tasks.catalog import Catalog

EU, US = n.REGIONS
BASE: dict[str, Any] = {
    "name": "x",
    "title": "t",
    "description": "d",
    "expect": {"outcome": "mitigated"},
}


def write(tmp_path: Path, data: dict[str, Any], name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_single_fault_and_fault_list_both_load_and_order_by_time(tmp_path: Path) -> None:
    single = load_scenario(write(tmp_path, {**BASE, "fault": {"kind": "bad_deploy", "delay_seconds": 3}}))
    assert [(f.kind, f.at) for f in single.all_faults] == [(FaultKind.BAD_DEPLOY, 3.0)]
    listed = load_scenario(
        write(
            tmp_path,
            {
                **BASE,
                "faults": [
                    {"kind": "bad_deploy", "at_seconds": 4},
                    {"kind": "staging_revision"},
                    {"kind": "refire"},
                ],
            },
        )
    )
    kinds = [(f.kind, f.at) for f in listed.all_faults]
    assert kinds == [(FaultKind.STAGING_REVISION, 2.0), (FaultKind.REFIRE, 2.0), (FaultKind.BAD_DEPLOY, 4.0)]
    assert listed.alert_count == 2 and single.alert_count == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fault": {"kind": "none"}, "faults": [{"kind": "none"}]}, "give fault or faults, not both"),
        ({}, "give either fault or faults"),
        ({"faults": [{"kind": "bad_deploy", "at_seconds": 1, "delay_seconds": 1}]}, "faults.0"),
        ({"faults": [{"kind": "bad_lambda", "region": "ap-south-1"}]}, "faults.0.region"),
        ({"fault": {"kind": "none"}, "timing": {"approval_timeout_seconds": 0}}, "approval_timeout"),
        ({"fault": {"kind": "bad_deploy", "region": EU, "regions": [EU, US]}}, "region or regions, not both"),
        ({"fault": {"kind": "bad_flag", "regions": [EU]}}, "regions is for bad_deploy"),
        ({"fault": {"kind": "bad_deploy", "regions": [EU, EU]}}, "listed twice"),
        ({"fault": {"kind": "deny"}}, "deny needs an action"),
        ({"fault": {"kind": "deny", "action": "GetMetricData"}}, "fault.action"),
        ({"fault": {"kind": "none", "action": "cloudwatch:GetMetricData"}}, "action is for deny only"),
    ],
)
def test_a_broken_fault_field_names_the_file_and_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, {**BASE, **changes})
    with pytest.raises(ScenarioError, match=message) as raised:
        load_scenario(path)
    assert str(raised.value).startswith(str(path))


def test_deep_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": [{"e": 1}], "f": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "d": [], "g": {"h": 1}}) == {
        "a": {"b": 1, "c": [3]},
        "d": [],
        "f": 1,
        "g": {"h": 1},
    }
    assert base["a"] == {"b": 1, "c": [1, 2]}  # the base is not changed


def test_policy_mapping_is_merged_onto_the_default_and_approval_timeout_overrides_every_rule(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            {
                **BASE,
                "fault": {"kind": "bad_deploy"},
                "policy": {"mode": "shadow", "groups": {"oncall-leads": ["zoe"]}},
                "timing": {"approval_timeout_seconds": 7},
            },
        )
    )
    written = write_drill_policy(scenario_policy(scenario, source="x"), tmp_path / "policy.yaml")
    policy = load_policy(written)
    assert policy.mode is Mode.SHADOW
    assert policy.groups["oncall-leads"] == ["zoe"] and policy.groups["comms-leads"] == ["erin", "frank"]
    assert policy.rules[0].name == "read-only"  # the default's rules are kept
    assert {rule.timeout_seconds for rule in policy.approvals} == {7}


def test_policy_path_is_relative_to_the_scenario_file_and_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    default = yaml.safe_load((Path(__file__).parents[2] / "policies" / "default.yaml").read_text())
    (tmp_path / "policies" / "strict.yaml").write_text(yaml.safe_dump({**default, "name": "strict"}))
    scenario = load_scenario(
        write(tmp_path, {**BASE, "fault": {"kind": "none"}, "policy": "policies/strict.yaml"})
    )
    assert scenario.policy == str(tmp_path / "policies" / "strict.yaml")
    assert scenario_policy(scenario, source="x")["name"] == "strict"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"mode": "sideways"}, r"x\.yaml: policy: mode: 'sideways' is not one of"),
        ({"rules": [{"name": "r", "actions": ["*"], "tier": "automatic"}]}, r"policy: rules\[0\]\.tier"),
        ("missing.yaml", r"x\.yaml: policy: cannot read"),
    ],
)
def test_an_invalid_policy_names_the_scenario_file_and_field(
    tmp_path: Path, policy: dict[str, Any] | str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(tmp_path, {**BASE, "fault": {"kind": "none"}, "policy": policy}))


def test_final_state_accepts_yaml_booleans_and_numbers_and_refuses_unknown_names(tmp_path: Path) -> None:
    text = (
        "name: x\ntitle: t\ndescription: d\nfault: {kind: bad_flag}\n"
        "expect:\n  outcome: mitigated\n  incident_runs: 1\n"
        "  final_state:\n    flag: {new-pricing-engine: off, one-click-buy: on}\n"
        "    lambda_version: {eu-west-1: 2}\n    ecs_revision: {us-east-1: 1}\n"
    )
    (tmp_path / "x.yaml").write_text(text)
    expected = load_scenario(tmp_path / "x.yaml").expect
    assert expected.final_state is not None and expected.incident_runs == 1
    assert expected.final_state.flag == {n.FLAG_NEW_PRICING: Switch.OFF, n.FLAG_ONE_CLICK: Switch.ON}
    assert expected.final_state.lambda_version == {EU: "2"}
    (tmp_path / "y.yaml").write_text(text.replace("new-pricing-engine", "no-such-flag"))
    with pytest.raises(ScenarioError, match=r"expect\.final_state\.flag: .*unknown flag 'no-such-flag'"):
        load_scenario(tmp_path / "y.yaml")


def test_final_state_is_compared_as_a_subset_of_the_sandbox_read_back(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    inject_bad_deploy(sandbox.target(), catalog, EU)
    inject_bad_lambda(sandbox.target(), catalog, US)
    scenario = Scenario.model_validate(
        {
            **BASE,
            "fault": {"kind": "bad_deploy"},
            "expect": {
                "outcome": "mitigated",
                "final_state": {
                    "ecs_revision": {EU: 1, US: 1},
                    "lambda_version": {US: 2},
                    "flag": {n.FLAG_NEW_PRICING: False},
                    "route53_weight": {EU: 0},
                },
            },
        }
    )
    assert scenario.expect.final_state is not None
    checks = final_state_checks(scenario.expect.final_state, observe(catalog, sandbox.endpoint_url))
    results = {c.name: (c.expected, c.actual, c.ok) for c in checks}
    assert results == {
        f"final ecs_revision {EU}": ("1", "2", False),
        f"final ecs_revision {US}": ("1", "1", True),
        f"final lambda_version {US}": ("2", "2", True),
        f"final flag {n.FLAG_NEW_PRICING}": ("off", "off", True),
        f"final route53_weight {EU}": ("0", "50", False),
    }


def test_drill_alerts_keep_their_incident_id_through_the_generic_intake_format(catalog: Catalog) -> None:
    scenario = Scenario.model_validate({**BASE, "faults": [{"kind": "bad_deploy"}, {"kind": "second_alarm"}]})
    onset = datetime(2026, 5, 1, 12, 0, 7, tzinfo=UTC)
    alerts = [drill_alert(scenario, catalog, onset, alarm_index=i) for i in (0, 1)]
    assert [a.name for a in alerts] == [n.alarm_name(EU, n.ERROR_RATE), n.alarm_name(EU, n.LATENCY_P99)]
    assert [a.metric.name for a in alerts if a.metric] == [n.ERROR_RATE, n.LATENCY_P99]
    parsed = parse_generic(json.dumps([generic_payload(a) for a in alerts])).alerts
    assert [incident_id_for(p) for p in parsed] == [incident_id_for(a) for a in alerts]
    assert [(p.service, p.environment, p.region) for p in parsed] == [(n.SERVICE, n.ENVIRONMENT, EU)] * 2
    again = refired(drill_alert(scenario, catalog, onset))
    assert again.fingerprint == alerts[0].fingerprint and again.dedup_key != alerts[0].dedup_key


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=180):
        yield


@flow(name="incident-response")
def fake_incident() -> None:
    """Stands in for the incident flow: the count is by flow name."""


@flow(name="recover")
def fake_recover() -> None:
    """Another flow: not an incident run."""


def test_incident_runs_are_counted_from_the_prefect_api(prefect_api: None) -> None:
    before = count_incident_runs()
    fake_incident()
    fake_incident()
    fake_recover()
    assert count_incident_runs() - before == 2
