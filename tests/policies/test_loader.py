"""Loading policy files: every broken file fails with file, field path and what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policies import PolicyError, Tier, decide, load_policy, load_policy_or_deny, parse_policy
from tests.policies.helpers import context, request

RULE = "  - {name: r, actions: [rollback.*], tier: approval, reason: why}\n"
FREEZE = "guardrails:\n  freeze_windows:\n    - {{name: f, start: {start}, end: {end}}}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prod.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.source == str(path)
    assert all(line.startswith(str(path)) for line in caught.value.problems)
    return str(caught.value).replace(str(path), "prod.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n" + RULE * 3 + "  - {name: s, actions: [x], tier: automatic, reason: r}\n",
            "prod.yaml: rules[3].tier: 'automatic' is not one of automated, approval, human_only, denied",
        ),
        (
            "rules:\n  - {name: r, actions: rollback.*, tier: approval, reason: r}\n",
            "prod.yaml: rules[0].actions: input should be a valid list (got 'rollback.*')",
        ),
        (
            "rules:\n  - {name: r, actions: [7], tier: approval, reason: r}\n",
            "prod.yaml: rules[0].actions[0]: input should be a valid string (got 7)",
        ),
        (
            "rules:\n  - {name: r, actions: ['rollback/ecs'], tier: approval, reason: r}\n",
            "prod.yaml: rules[0].actions[0]: 'rollback/ecs' is not a glob",
        ),
        ("rules:\n  - {name: r, actions: [x], tier: approval, reason: r, teir: denied}\n",
         "prod.yaml: rules[0].teir: unknown field"),
        ("polcy: 1\n", "prod.yaml: polcy: unknown field"),
        (
            "rules:\n  - {name: r, actions: [x], tier: approval}\n",
            "prod.yaml: rules[0].reason: required field is missing",
        ),
        (
            "rules:\n  - {name: r, actions: [x], tier: approval, reason: r,\n"
            "     during: {timezone: Mars/Olympus}}\n",
            "prod.yaml: rules[0].during.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            "guardrails:\n  blast_radius_caps: [{name: c, max_blast_radius: -0.5}]\n",
            "prod.yaml: guardrails.blast_radius_caps[0].max_blast_radius: "
            "input should be greater than or equal to 0 (got -0.5)",
        ),
        (
            "guardrails: {max_blast_radius: 0.5}\n",
            "prod.yaml: guardrails.max_blast_radius: unknown field",
        ),
        (
            "rules:\n  - {name: r, actions: [x], tier: approval, reason: r, max_blast_radius: 1.5}\n",
            "prod.yaml: rules[0].max_blast_radius: input should be less than or equal to 1 (got 1.5)",
        ),
        (
            FREEZE.format(start="2026-12-24T00:00:00", end="2026-12-26T00:00:00Z"),
            "prod.yaml: guardrails.freeze_windows[0].start: input should have timezone info "
            "(got 2026-12-24T00:00:00)",
        ),
        (
            FREEZE.format(start="2026-12-26T00:00:00Z", end="2026-12-24T00:00:00Z"),
            "prod.yaml: guardrails.freeze_windows[0]: freeze window 'f' ends before it starts",
        ),
        (
            "approvals:\n  - {name: a, groups: [leads]}\n",
            "prod.yaml: approvals[0].groups: unknown group(s) leads (defined: none)",
        ),
        (
            "groups: {leads: [alice]}\napprovals:\n  - {name: a, groups: [leads], min_approvers: 2}\n",
            "prod.yaml: approvals[0].min_approvers: needs 2 but only 1 people may approve",
        ),
        (
            "approvals:\n  - {name: a, on_timeout: wait}\n",
            "prod.yaml: approvals[0].on_timeout: 'wait' is not one of deny, escalate",
        ),
        ("rules:\n" + RULE * 2, "prod.yaml: rules: duplicate name(s) r"),
        ("rules: []\nname: x\nrules: []\n", "prod.yaml:3:1: invalid YAML: duplicate key 'rules'"),
        ("rules: [\n", "prod.yaml:2:1: invalid YAML:"),
        ("- just\n- a list\n", "prod.yaml: expected a mapping at the top level, got list"),
        ("", "prod.yaml: expected a mapping at the top level, got NoneType"),
        ("version: 2\n", "prod.yaml: version: 2 is not one of 1"),
        (
            "severity: {requirements: {SEV-5: {first_update_minutes: 1, update_cadence_minutes: 1}}}\n",
            "prod.yaml: severity.requirements.SEV-5 (key): 'SEV-5' is not one of SEV-1, SEV-2, SEV-3, SEV-4",
        ),
        (
            "rules:\n  - {name: r, actions: [x], tier: approval, reason: r, during: {start_hour: 18:00}}\n",
            "prod.yaml: rules[0].during.start_hour: input should be less than or equal to 23 (got 1080)",
        ),
    ],
)
def test_precise_error_messages(tmp_path: Path, text: str, message: str) -> None:
    assert error_of(tmp_path, text).startswith(message)


def test_every_problem_is_reported_one_per_line(tmp_path: Path) -> None:
    text = "default_tier: automatic\nrules:\n  - {name: r, actions: [x], tier: nope, reason: r}\n"
    lines = error_of(tmp_path, text).splitlines()
    assert lines == [
        "prod.yaml: default_tier: 'automatic' is not one of automated, approval, human_only, denied",
        "prod.yaml: rules[0].tier: 'nope' is not one of automated, approval, human_only, denied",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'absent.yaml'}: cannot read:")


def test_valid_file_loads(tmp_path: Path) -> None:
    loaded = load_policy(write(tmp_path, "name: prod\ndefault_tier: human_only\nrules:\n" + RULE))
    assert loaded.name == "prod"
    assert loaded.default_tier is Tier.HUMAN_ONLY
    assert [r.name for r in loaded.rules] == ["r"]


def test_load_or_deny_returns_a_deny_all_policy_with_the_error(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - {name: r, actions: [x], tier: automatic, reason: r}\n")
    policy, error = load_policy_or_deny(path)
    assert error is not None
    assert "rules[0].tier" in error
    decision = decide(request("rollback.ecs"), context(), policy)
    assert decision.tier is Tier.DENIED
    assert "rules[0].tier" in decision.reason


def test_load_or_deny_passes_a_valid_policy_through(tmp_path: Path) -> None:
    policy, error = load_policy_or_deny(write(tmp_path, "rules:\n" + RULE))
    assert error is None
    assert policy.lockdown is None
    assert decide(request("rollback.ecs"), context(), policy).rule == "r"


def test_the_annotated_example_in_the_docs_is_a_valid_policy() -> None:
    docs = Path(__file__).parents[2] / "docs" / "policies.md"
    block = re.search(r"```yaml\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert block is not None
    example = parse_policy(block.group(1), source="docs/policies.md")
    assert example.name == "prod"
    shift = request("traffic.shift.alb", blast_radius=0.2)
    assert decide(shift, context(), example).rule == "small-traffic-shift"
