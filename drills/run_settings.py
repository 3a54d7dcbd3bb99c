"""The incident flows' settings in a drill: the checkout drill and catalog worlds use the same."""

from __future__ import annotations

from pathlib import Path

from drills.clock import DrillClock
from drills.scenario import Scenario
from flows.settings import RunSettings


def drill_settings(scenario: Scenario, output: Path, *, clock: DrillClock) -> RunSettings:
    """Compressed timings from the scenario, records marked ``drill=True`` and reported on
    ``clock``'s time. The drill's policy and catalog are its host's (drills/runner.py sets
    FIREBREAK_POLICY_FILE and FIREBREAK_CATALOG_FILE for the drill process), not settings."""
    timing = scenario.timing
    return RunSettings(
        output_dir=str(output / "incidents"),
        confirm_window_seconds=10,
        bake_seconds=timing.bake_seconds,
        watch_interval_seconds=timing.watch_interval_seconds,
        healthy_checks=timing.healthy_checks,
        approval_poll_seconds=1,
        drill=True,
        drill_speed=clock.speed,
    )
