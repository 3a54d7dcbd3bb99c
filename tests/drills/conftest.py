"""Drill test fixtures: the session's moto server (tests/conftest.py), re-seeded for every test,
and end-to-end drill runs, one per scenario for the session.

A new server costs ~6 s before its first seed is done (moto loads backends lazily, and
``tasks.aws`` builds ~20 clients for the new endpoint), a re-seed after a reset ~0.3 s; so the
server lives for the session and each test starts from a fresh seed. Only fake credentials are
exported while it runs (``export_env=False``), so other packages' tests are not redirected.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drills.sandbox import Sandbox
from drills.seed import seed_checkout
from tasks.catalog import Catalog

FIREBREAK = str(Path(sys.executable).with_name("firebreak"))


@pytest.fixture
def catalog(sandbox: Sandbox) -> Catalog:
    """A freshly seeded checkout service in ``sandbox``."""
    sandbox.reset()
    return seed_checkout(sandbox.endpoint_url)


@dataclass(frozen=True)
class DrillRun:
    """``firebreak drill NAME --json --output OUTPUT``, as a person runs it, and what it left."""

    result: subprocess.CompletedProcess[str]
    output: Path


@pytest.fixture(scope="session")
def drill_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], DrillRun]:
    """Runs a shipped scenario end to end in its own process (its own moto and Prefect servers),
    once per session: a test that checks more of a run than its scorecard (tests/drills/
    test_runner.py) reads the same run as test_scenarios.py instead of a second one, ~30 s each."""
    runs: dict[str, DrillRun] = {}

    def run(scenario: str) -> DrillRun:
        if scenario not in runs:
            output = tmp_path_factory.mktemp(f"drill-{scenario}")
            result = subprocess.run(
                [FIREBREAK, "drill", scenario, "--json", "--output", str(output)],
                capture_output=True,
                text=True,
                timeout=230,
            )
            runs[scenario] = DrillRun(result, output)
        return runs[scenario]

    return run
