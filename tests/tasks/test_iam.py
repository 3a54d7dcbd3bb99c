"""The IAM policy per action kind, and ``firebreak iam-policy``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from policies import Policy, default_policy
from tasks.iam import enabled_kinds, iam_policy
from tasks.registry import REGISTRY, UnknownKindError


def test_one_statement_per_kind_with_exactly_its_actions() -> None:
    doc = iam_policy(["rollback.lambda", "flags.disable.ssm", "flags.disable.ssm"])
    assert doc["Version"] == "2012-10-17"
    assert [(s["Sid"], s["Action"]) for s in doc["Statement"]] == [
        ("FlagsDisableSsm", ["ssm:GetParameter", "ssm:PutParameter"]),
        (
            "RollbackLambda",
            [
                "cloudtrail:LookupEvents",
                "lambda:GetAlias",
                "lambda:ListVersionsByFunction",
                "lambda:UpdateAlias",
            ],
        ),
    ]


def test_unknown_kind() -> None:
    with pytest.raises(UnknownKindError):
        iam_policy(["traffic.block"])


def test_default_policy_enables_every_registered_kind() -> None:
    assert enabled_kinds(default_policy()) == sorted(REGISTRY)


def test_policy_that_always_denies_a_kind_grants_it_nothing(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\n"
        "default_tier: approval\n"
        "rules:\n"
        "  - {name: no-asg, actions: [rollback.asg], tier: denied, reason: not here}\n"
        "  - {name: prod-alb, actions: [traffic.shift.alb], environments: [prod], tier: denied, reason: r}\n"
    )
    result = CliRunner().invoke(app, ["iam-policy", "--policy", str(policy)])
    assert result.exit_code == 0, result.output
    sids = [s["Sid"] for s in json.loads(result.output)["Statement"]]
    assert "RollbackAsg" not in sids and "TrafficShiftAlb" in sids and len(sids) == len(REGISTRY) - 1
    both = CliRunner().invoke(
        app, ["iam-policy", "--policy", str(policy), "--kinds", "rollback.asg,rollback.ecs"]
    )
    assert [s["Sid"] for s in json.loads(both.output)["Statement"]] == ["RollbackEcs"]


def test_cli_kinds_and_errors() -> None:
    result = CliRunner().invoke(app, ["iam-policy", "--kinds", "traffic.shift.route53"])
    assert result.exit_code == 0
    assert json.loads(result.output)["Statement"][0]["Action"] == [
        "route53:ChangeResourceRecordSets",
        "route53:ListResourceRecordSets",
    ]
    bad = CliRunner().invoke(app, ["iam-policy", "--kinds", "nope"])
    assert bad.exit_code == 2 and "unknown action kind 'nope'" in bad.output


def test_containment_kinds_ask_for_what_they_write() -> None:
    statements = {
        s["Sid"]: s["Action"]
        for s in iam_policy(
            ["capacity.scale.ecs", "capacity.scale.asg", "throttle.apigateway", "maintenance.disable.alb"]
        )["Statement"]
    }
    assert statements["CapacityScaleEcs"] == [
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:RegisterScalableTarget",
        "ecs:DescribeServices",
        "ecs:UpdateService",
    ]
    assert "autoscaling:UpdateAutoScalingGroup" in statements["CapacityScaleAsg"]
    assert statements["ThrottleApigateway"] == ["apigateway:GET", "apigateway:PATCH"]
    # Each of a pair can undo the other, so both carry create and delete.
    assert {"elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"} <= set(
        statements["MaintenanceDisableAlb"]
    )
    assert iam_policy(["breaker.open.ssm"])["Statement"][0]["Action"] == [
        "ssm:GetParameter",
        "ssm:PutParameter",
    ]


def test_a_denied_rule_with_a_capacity_condition_keeps_the_kind_enabled() -> None:
    policy = Policy.model_validate(
        {
            "default_tier": "denied",
            "rules": [
                {
                    "name": "no-big",
                    "actions": ["capacity.scale.*"],
                    "min_capacity_factor": 3,
                    "tier": "denied",
                    "reason": "r",
                },
                {"name": "ask", "actions": ["capacity.scale.*"], "tier": "approval", "reason": "r"},
            ],
        }
    )
    assert enabled_kinds(policy) == ["capacity.scale.asg", "capacity.scale.ecs"]
