"""The policy's identity fields: keys and Slack ids are checked at load time, with the field."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from policies import PolicyError, parse_policy

GOOD_KEY = "ed25519:" + "A" * 42 + "A="


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as e:
        parse_policy(text, source="p.yaml")
    return e.value.problems


def test_a_malformed_public_key_names_the_person_and_field() -> None:
    found = problems("people:\n  alice: {public_key: 'ed25519:tooshort'}\n")
    assert len(found) == 1 and found[0].startswith("p.yaml: people.alice.public_key:")


def test_a_malformed_slack_id_names_the_person_and_field() -> None:
    found = problems("people:\n  bob: {slack_id: 'bob@example.com'}\n")
    assert len(found) == 1 and found[0].startswith("p.yaml: people.bob.slack_id:")


def test_valid_identities_load() -> None:
    text = f"people:\n  alice: {{public_key: '{GOOD_KEY}', slack_id: U012ABCDEF}}\n"
    policy = parse_policy(text, source="p")
    person = policy.person("Alice ")
    assert person is not None and person.slack_id == "U012ABCDEF"


def test_policy_check_warns_about_verified_rules_nobody_can_satisfy() -> None:
    result = CliRunner().invoke(app, ["policy", "check", "policies/default.yaml"])
    assert result.exit_code == 0
    warning = "warning: approvals[0] (prod-rollbacks): identity verified, but alice, bob have no"
    assert warning in result.output


def test_policy_explain_shows_the_identity_a_rule_needs() -> None:
    args = ["policy", "explain", "--action", "rollback.ecs", "--service", "checkout", "--env", "prod"]
    prod = CliRunner().invoke(app, [*args, "--severity", "SEV-2"])
    assert "identity: verified" in " ".join(prod.output.split())
    staging = CliRunner().invoke(app, [*args[:-1], "staging", "--severity", "SEV-2"])
    assert "identity: declared" in " ".join(staging.output.split())
