"""Issue 25, point 6: non-UTF-8 files, ``iam-policy --kinds ''``, and ``trigger``'s checks end in
a clear refusal (exit 2, the file named), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from alerts.dead_letters import DeadLetterStore
from alerts.errors import RoutingConfigError
from alerts.routing import load_routing
from drills.scenario import ScenarioError, load_scenario
from firebreak.cli import app
from policies import PolicyError, load_policy, load_policy_or_deny
from tasks.catalog import CatalogError, load_catalog
from tests.alerts.signing import FIXTURES

runner = CliRunner()
LATIN_1 = "name: caf\xe9\n".encode("latin-1")


@pytest.fixture
def latin(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(LATIN_1)
    return path


def test_a_non_utf8_policy_is_a_policy_error_naming_the_file(latin: Path) -> None:
    with pytest.raises(PolicyError, match=r"latin1.yaml.*UTF-8"):
        load_policy(latin)


def test_a_non_utf8_policy_in_a_flow_falls_back_to_deny_all(latin: Path) -> None:
    policy, error = load_policy_or_deny(latin)
    assert error is not None and "latin1.yaml" in error
    assert policy.lockdown is not None


def test_a_non_utf8_catalog_routing_or_scenario_names_the_file(latin: Path) -> None:
    with pytest.raises(CatalogError, match=r"latin1.yaml.*UTF-8"):
        load_catalog(latin)
    with pytest.raises(RoutingConfigError, match=r"latin1.yaml.*UTF-8"):
        load_routing(latin)
    with pytest.raises(ScenarioError, match=r"latin1.yaml.*UTF-8"):
        load_scenario(latin)


def test_cli_commands_exit_2_naming_a_non_utf8_file(latin: Path) -> None:
    alert = str(FIXTURES / "generic_firing.json")
    for args in (
        ["iam-policy", "--policy", str(latin)],
        ["alert", "parse", alert, "--source", "generic", "--routing", str(latin)],
        ["trigger", alert, "--catalog", str(latin)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "latin1.yaml" in result.output
        assert not isinstance(result.exception, UnicodeDecodeError)


def test_iam_policy_refuses_an_empty_kinds_list() -> None:
    result = runner.invoke(app, ["iam-policy", "--kinds", ""])
    assert result.exit_code == 2, result.output
    assert "--kinds" in result.output
    assert "Statement" not in result.output


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "services:\n  payments:\n    prod:\n      primary_region: eu-west-1\n"
        "      regions:\n        eu-west-1: {}\n"
    )
    return path


def test_trigger_refuses_a_service_the_catalog_does_not_have(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(_catalog(tmp_path)))
    started: list[object] = []
    monkeypatch.setattr("prefect.deployments.run_deployment", lambda *a, **k: started.append(a))
    result = runner.invoke(app, ["trigger", str(FIXTURES / "generic_firing.json")])  # service: checkout
    assert result.exit_code == 2, result.output
    assert "checkout" in result.output and "payments" in result.output
    assert started == []


def test_trigger_with_prefect_down_says_so_and_keeps_the_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = json.loads((FIXTURES / "generic_firing.json").read_text()) | {"service": "payments"}
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(alert))
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(_catalog(tmp_path)))
    monkeypatch.setenv("FIREBREAK_DEAD_LETTER_DIR", str(tmp_path / "dead"))

    def down(*args: object, **kwargs: object) -> object:
        raise httpx.ConnectError("All connection attempts failed")

    monkeypatch.setattr("prefect.deployments.run_deployment", down)
    result = runner.invoke(app, ["trigger", str(path)])
    assert result.exit_code == 2, result.output
    assert "Prefect" in result.output and "alert replay" in result.output
    ((_, dead),) = DeadLetterStore(tmp_path / "dead").entries()
    assert dead.retryable and dead.alert is not None and dead.alert.service == "payments"
