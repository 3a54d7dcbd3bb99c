"""The worker's host fixes the policy, the catalog and the role; a run cannot choose them
(issue 26 point 1). Pure: no Prefect, no AWS."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.host_config import HostConfigError, host_config
from flows.settings import RunSettings


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: host-policy\n")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("services: {}\n")
    monkeypatch.setenv("FIREBREAK_POLICY_FILE", str(policy))
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(catalog))
    monkeypatch.setenv("FIREBREAK_ROLE_ARN", "arn:aws:iam::123456789012:role/firebreak")
    return policy


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("policy_path", "FIREBREAK_POLICY_FILE"),
        ("catalog_path", "FIREBREAK_CATALOG_FILE"),
        ("role_arn", "FIREBREAK_ROLE_ARN"),
    ],
)
def test_a_run_parameter_cannot_choose_what_the_host_fixes(field: str, variable: str) -> None:
    with pytest.raises(ValidationError) as e:
        RunSettings.model_validate({field: "/home/mallory/mine.yaml"})
    assert f"{field} is not a run parameter" in str(e.value) and variable in str(e.value)


def test_the_policy_the_catalog_and_the_role_come_from_the_host(host: Path) -> None:
    settings = RunSettings(bake_seconds=5)  # what a run may still carry: it narrows nothing
    policy, error = settings.load_policy()
    assert (policy.name, error) == ("host-policy", None)
    assert settings.catalog().services == {}
    assert settings.aws("eu-west-1").role_arn == "arn:aws:iam::123456789012:role/firebreak"


def test_the_host_config_names_the_policy_by_its_hash(host: Path) -> None:
    config = host_config()
    assert config.policy_sha256 == hashlib.sha256(host.read_bytes()).hexdigest()


def test_without_a_catalog_a_run_is_told_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBREAK_CATALOG_FILE", raising=False)
    with pytest.raises(HostConfigError, match="FIREBREAK_CATALOG_FILE is not set"):
        RunSettings().catalog()


def test_a_run_may_narrow_what_firebreak_tries_but_not_widen_it() -> None:
    assert RunSettings(max_mitigations=1).max_mitigations == 1
    with pytest.raises(ValidationError, match="max_mitigations"):
        RunSettings(max_mitigations=10)
