"""The policy's identity fields: keys and Slack ids are checked at load time, with the field."""

from __future__ import annotations

from pathlib import Path

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


def test_policy_check_warns_where_a_custom_policy_lets_production_change_on_a_typed_name(
    tmp_path: Path,
) -> None:
    # Issue 26 point 4: flags.enable.* in prod answered by a name typed into a form.
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "rules: [{name: r, actions: ['flags.enable.*'], tier: approval, reason: test}]\n"
        "approvals:\n"
        "  - {name: prod-rollbacks, actions: ['rollback.*'], environments: [prod], identity: verified}\n"
        "  - {name: staging-only, actions: ['*'], environments: [staging]}\n"
        "  - {name: anything, actions: ['flags.*', 'rollback.*']}\n"
    )
    result = CliRunner().invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        f"{policy}: warning: approvals[2] (anything): identity declared, but it lets production "
        "change (flags.* in prod): a name typed into a form approves it; set identity: verified"
    ) in said
    assert "prod-rollbacks): identity declared" not in said and "staging-only" not in said
    assert "rollback.* in prod" not in said  # prod-rollbacks answers those first


def test_policy_check_is_silent_about_production_when_every_such_rule_is_verified(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("approvals:\n  - {name: all, environments: [prod], identity: verified}\n")
    result = CliRunner().invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 0 and "lets production change" not in result.output
