"""Every shipped drill, end to end, as a person runs it: `firebreak drill NAME --json`.

Each runs in its own process (its own moto server and Prefect server), so drills double as
end-to-end tests of the whole system, scored by their own expectations. The runs are the
session's (tests/drills/conftest.py: drill_run), which test_runner.py reads too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from drills.scenario import list_scenarios
from tests.drills.conftest import DrillRun

FIREBREAK = str(Path(sys.executable).with_name("firebreak"))


def test_drill_list_shows_every_shipped_scenario() -> None:
    out = subprocess.run(
        [FIREBREAK, "drill", "--list"], capture_output=True, text=True, timeout=60, check=True
    )
    names = {s.name for s in list_scenarios()}
    assert len(names) >= 6
    assert all(name in out.stdout for name in names)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", sorted(s.name for s in list_scenarios()))
def test_drill_meets_its_expectations(scenario: str, drill_run: Callable[[str], DrillRun]) -> None:
    result = drill_run(scenario).result
    assert result.stdout.strip(), result.stderr[-3000:]
    card = json.loads(result.stdout.strip().splitlines()[-1])
    failed = [c for c in card["checks"] if not c["ok"]]
    assert card["passed"] and not failed, failed
    assert result.returncode == 0
    assert card["forbidden_taken"] == []
    timeline = json.loads(Path(card["timeline_path"]).read_text())
    assert timeline["entries"][0]["event"] == "alert"
    assert (
        Path(card["postmortem_path"]).read_text().startswith(f"# Postmortem draft: {timeline['incident_id']}")
    )
