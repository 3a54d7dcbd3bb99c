"""Catalog-world scenarios: the format (catalog:, service:, per-fault service and fields,
expect_services), and a fault the catalog cannot host is a scenario error before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from drills.scenario import FaultKind, ScenarioError, load_scenario
from drills.scorecard import Scorecard, with_services
from drills.world.drill import main_service, plan_faults
from tasks.catalog import load_catalog

CATALOGS = Path(__file__).parents[2] / "drills" / "catalogs"
BASE: dict[str, Any] = {
    "name": "t", "title": "t", "description": "t", "expect": {"outcome": "mitigated"},
}  # fmt: skip


def _write(tmp_path: Path, **fields: Any) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**BASE, **fields}))
    return path


def test_catalog_is_relative_to_the_scenario_and_regions_are_the_catalogs(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text((CATALOGS / "quotes.yaml").read_text())
    path = _write(tmp_path, catalog="c.yaml", fault={"kind": "bad_lambda", "region": "eu-central-1"})
    scenario = load_scenario(path)
    assert scenario.catalog == str((tmp_path / "c.yaml").resolve())
    assert scenario.all_faults[0].region_given == "eu-central-1"


def test_cli_catalog_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, fault={"kind": "traffic_spike", "factor": 4})
    scenario = load_scenario(path, catalog=CATALOGS / "checkout.yaml")
    assert scenario.catalog == str((CATALOGS / "checkout.yaml").resolve())
    assert scenario.all_faults[0].region_given is None and scenario.all_faults[0].factor == 4


@pytest.mark.parametrize(
    "fields",
    [
        {"fault": {"kind": "traffic_spike"}},
        {"fault": {"kind": "bad_deploy"}, "expect_services": {"quotes": {"outcome": "mitigated"}}},
        {"fault": {"kind": "bad_lambda", "region": "eu-central-1"}},  # not a checkout region
    ],
    ids=["world-kind", "expect-services", "region"],
)
def test_world_fields_need_a_catalog(tmp_path: Path, fields: dict[str, Any]) -> None:
    with pytest.raises(ScenarioError, match=r"catalog|unknown region"):
        load_scenario(_write(tmp_path, **fields))


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ({"kind": "bad_deploy"}, "faults.0: bad_deploy: quotes has no ECS service in eu-central-1"),
        ({"kind": "bad_launch_template"}, "has no Auto Scaling group"),
        ({"kind": "bad_lambda", "region": "us-east-1"}, "does not run in us-east-1"),
        ({"kind": "bad_flag", "flag": "nope"}, "has no flag 'nope'"),
        ({"kind": "region_degraded", "service": "orders"}, "unknown service 'orders'"),
        ({"kind": "dependency_down", "dependency": "nope"}, "has no dependency 'nope'"),
        ({"kind": "staging_revision"}, "staging_revision: quotes has no ECS service"),
        ({"kind": "refire", "service": "orders"}, "refire is about the scenario's service quotes"),
    ],
)
def test_a_fault_the_catalog_cannot_host_is_refused(
    tmp_path: Path, fault: dict[str, Any], problem: str
) -> None:
    scenario = load_scenario(_write(tmp_path, fault=fault), catalog=CATALOGS / "quotes.yaml")
    with pytest.raises(ScenarioError, match=problem):
        plan_faults(scenario, load_catalog(CATALOGS / "quotes.yaml"))


def test_faults_settle_their_service(tmp_path: Path) -> None:
    path = _write(tmp_path, faults=[{"kind": "bad_flag", "flag": "instant-quotes"}, {"kind": "none"}])
    scenario = load_scenario(path, catalog=CATALOGS / "quotes.yaml")
    catalog = load_catalog(CATALOGS / "quotes.yaml")
    assert main_service(scenario, catalog) == "quotes"
    assert [(p.fault.kind, p.service, p.region) for p in plan_faults(scenario, catalog)] == [
        (FaultKind.BAD_FLAG, "quotes", None),
        (FaultKind.NONE, "quotes", None),
    ]


def test_shipped_world_scenarios_fit_their_catalogs() -> None:
    for path in sorted((Path(__file__).parents[2] / "drills" / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        if scenario.catalog is not None:
            plan_faults(scenario, load_catalog(Path(scenario.catalog)))


def test_a_fault_on_another_service_needs_a_catalog(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="need a catalog world"):
        load_scenario(_write(tmp_path, fault={"kind": "bad_deploy", "service": "orders"}))


def test_every_incident_is_scored() -> None:
    main = Scorecard.model_validate(_card(ok=True))
    other = Scorecard.model_validate(_card(ok=False))
    merged = with_services(main, {"quotes": other})
    assert [c.name for c in merged.checks] == ["outcome", "quotes: outcome"]
    assert not merged.passed and with_services(main, {}).passed


def _card(*, ok: bool) -> dict[str, Any]:
    check = {
        "name": "outcome",
        "expected": "mitigated",
        "actual": "mitigated" if ok else "escalated",
        "ok": ok,
    }
    return {
        "scenario": "t", "passed": ok, "checks": [check], "outcome": check["actual"], "severity": None,
        "diagnosis": None, "mitigations": [], "approvals_asked": 0, "answers": [], "forbidden_taken": [],
        "verification": "not run", "recovery": None, "wall_seconds": {}, "drill_seconds": {},
        "timeline_path": "t", "postmortem_path": None,
    }  # fmt: skip


def test_refire_second_alarm_and_staging_revision_are_planned_in_a_world(tmp_path: Path) -> None:
    faults = [
        {"kind": "staging_revision", "region": "eu-west-1", "at_seconds": 1},
        {"kind": "bad_deploy", "region": "eu-west-1"},
        {"kind": "refire"},
        {"kind": "second_alarm"},
    ]
    scenario = load_scenario(_write(tmp_path, faults=faults), catalog=CATALOGS / "checkout.yaml")
    planned = plan_faults(scenario, load_catalog(CATALOGS / "checkout.yaml"))
    kinds = [p.kind.value if p.kind else None for p in planned]
    assert kinds == ["staging_revision", "bad_deploy", None, None]  # the last two are alerts


def test_a_second_alarm_needs_two_alarms_in_the_alert_region(tmp_path: Path) -> None:
    catalog = load_catalog(CATALOGS / "quotes.yaml")
    entry = catalog.entry("quotes", "prod")
    region = entry.region("eu-central-1").model_copy(update={"alarms": ["quotes-prod-ErrorRate"]})
    narrowed = entry.model_copy(update={"regions": {"eu-central-1": region}})
    one_alarm = catalog.model_copy(update={"services": {"quotes": {"prod": narrowed}}})
    faults = [{"kind": "bad_lambda"}, {"kind": "second_alarm"}]
    scenario = load_scenario(_write(tmp_path, faults=faults), catalog=CATALOGS / "quotes.yaml")
    with pytest.raises(ScenarioError, match="second_alarm: quotes has fewer than two alarms in eu-central-1"):
        plan_faults(scenario, one_alarm)
