"""Every shipped drill's records replay with no change under the policy and catalog it ran with.

Reads the session's drill runs (tests/drills/conftest.py: drill_run, shared with
test_scenarios.py), so this costs a replay per scenario, not a drill.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from drills.scenario import list_scenarios
from firebreak.cli import app
from tests.drills.conftest import DrillRun


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", sorted(s.name for s in list_scenarios()))
def test_replay_under_the_drills_own_policy_and_catalog_changes_nothing(
    scenario: str, drill_run: Callable[[str], DrillRun]
) -> None:
    output = drill_run(scenario).output
    ran_with = output / scenario
    args = ["replay", "--dir", str(output), "--policy", str(ran_with / "policy.yaml"),
            "--catalog", str(ran_with / "catalog.yaml"), "--json", "--fail-on-change"]  # fmt: skip

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["summary"]["incidents"] >= 1
    assert body["summary"]["changed"] == 0 and body["summary"]["incomplete"] == 0, body["incidents"]
