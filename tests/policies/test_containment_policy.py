"""The shipped policy for the containment kinds of issue 16, through ``firebreak policy explain``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from policies import Severity, Tier, decide, default_policy
from tests.policies.helpers import context, request

runner = CliRunner()


def _explain(kind: str, *extra: str, env: str = "prod", severity: str = "SEV-2") -> dict[str, Any]:
    args = [
        "policy",
        "explain",
        "--action",
        kind,
        "--service",
        "checkout",
        "--env",
        env,
        "--severity",
        severity,
    ]
    result = runner.invoke(app, [*args, *extra, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


@pytest.mark.parametrize(
    ("factor", "severity", "tier", "rule"),
    [
        ("2", "SEV-1", "automated", "scale-out-up-to-doubling"),
        ("1.5", "SEV-2", "automated", "scale-out-up-to-doubling"),
        ("2.5", "SEV-2", "approval", "capacity-changes"),
        ("1.5", "SEV-3", "approval", "capacity-changes"),
        ("0.5", "SEV-2", "approval", "capacity-changes"),  # scaling back in, during recovery
    ],
)
def test_scale_out_is_automated_up_to_doubling_at_sev1_and_sev2(
    factor: str, severity: str, tier: str, rule: str
) -> None:
    body = _explain("capacity.scale.ecs", "--capacity-factor", factor, severity=severity)
    assert (body["decision"]["tier"], body["decision"]["rule"]) == (tier, rule)
    assert body["request"]["capacity_factor"] == float(factor)


def test_a_scale_out_without_a_factor_is_not_automated() -> None:
    body = _explain("capacity.scale.asg")
    assert (body["decision"]["tier"], body["decision"]["rule"]) == ("approval", "capacity-changes")


@pytest.mark.parametrize(
    ("kind", "env", "tier", "rule"),
    [
        ("breaker.open.ssm", "prod", "automated", "breaker-open"),
        ("breaker.open.appconfig", "prod", "automated", "breaker-open"),
        ("breaker.close.ssm", "prod", "approval", "breaker-close-prod"),
        ("breaker.close.appconfig", "staging", "automated", "breaker-close"),
        ("throttle.apigateway", "prod", "approval", "throttling"),
        ("maintenance.enable.alb", "prod", "approval", "maintenance-page"),
        ("maintenance.disable.alb", "prod", "approval", "maintenance-page"),
    ],
)
def test_breakers_throttling_and_the_maintenance_page(kind: str, env: str, tier: str, rule: str) -> None:
    body = _explain(kind, "--blast-radius", "1", env=env)
    assert (body["decision"]["tier"], body["decision"]["rule"]) == (tier, rule)


def test_the_maintenance_page_needs_two_proven_approvers_in_prod() -> None:
    body = _explain("maintenance.enable.alb", "--blast-radius", "1")
    approval = body["approval"]
    assert (approval["name"], approval["min_approvers"], approval["identity"]) == (
        "prod-maintenance-page",
        2,
        "verified",
    )
    assert approval["groups"] == ["oncall-leads", "incident-commanders"]
    staging = _explain("maintenance.enable.alb", "--blast-radius", "1", env="staging")["approval"]
    assert (staging["name"], staging["min_approvers"]) == ("maintenance-page", 2)


def test_throttling_in_prod_needs_a_proven_approver() -> None:
    approval = _explain("throttle.apigateway", "--blast-radius", "1")["approval"]
    assert (approval["name"], approval["identity"]) == ("prod-throttling", "verified")


def test_a_fourth_scale_out_in_an_hour_is_denied() -> None:
    req = request("capacity.scale.ecs", capacity_factor=1.5)
    decision = decide(
        req,
        context(severity=Severity.SEV_1, action_counts={"scale-out-per-service:checkout": 3}),
        default_policy(),
    )
    assert decision.tier is Tier.DENIED
    assert "scale-out-per-service" in decision.reason
