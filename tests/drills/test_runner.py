"""The drill runner: a scenario without ``catalog:`` runs in the shipped checkout world
(``drills/catalogs/checkout.yaml``), seeded and resolved as any catalog world is. The drill
runs are the session's (tests/drills/conftest.py: drill_run), the ones test_scenarios.py scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.catalog import load_catalog
from tests.drills.conftest import DrillRun

SHIPPED_CATALOG = Path(__file__).parents[2] / "drills" / "catalogs" / "checkout.yaml"


@pytest.mark.timeout(240)
def test_a_scenario_without_a_catalog_runs_in_the_shipped_checkout_world(
    drill_run: Callable[[str], DrillRun],
) -> None:
    run = drill_run("false-alarm")
    result, output = run.result, run.output
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["passed"]
    used = load_catalog(output / "false-alarm" / "catalog.yaml").entry("checkout", "prod")
    shipped = load_catalog(SHIPPED_CATALOG).entry("checkout", "prod")
    assert sorted(used.regions) == sorted(shipped.regions)
    for region, resources in used.regions.items():
        alb = resources.alb
        assert alb is not None
        # the names the shipped catalog gives are kept, the ids AWS generated resolved beside them
        assert alb.load_balancer == shipped.regions[region].alb.load_balancer  # type: ignore[union-attr]
        assert alb.target_groups == shipped.regions[region].alb.target_groups  # type: ignore[union-attr]
        assert alb.listener_arn is not None and alb.listener_arn.startswith("arn:aws:elasticloadbalancing:")
        assert resources.alarms == shipped.regions[region].alarms
    assert sorted(used.dependencies) == sorted(shipped.dependencies)


@pytest.mark.timeout(240)
def test_slack_approval_is_answered_in_slack_in_the_checkout_world(
    drill_run: Callable[[str], DrillRun],
) -> None:
    result = drill_run("slack-approval").result
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads(result.stdout.strip().splitlines()[-1])
    assert card["answers"] == ["approval: yes by alice (slack)"]
    # what the Slack stand-in received: the request, then the same message updated with the decision
    posted = [m for m in card["slack_messages"] if m.startswith("chat.postMessage C0FIREDRILL:")]
    updated = [m for m in card["slack_messages"] if m.startswith("chat.update C0FIREDRILL: alice approved:")]
    assert len(posted) == 1 and "rollback.ecs" in posted[0]
    assert len(updated) == 1
