"""The incident flows' settings in a drill: the checkout drill and catalog worlds use the same."""

from __future__ import annotations

from pathlib import Path

from drills.clock import DrillClock
from drills.scenario import Scenario
from flows.settings import RunSettings


def drill_settings(
    scenario: Scenario, catalog_path: Path, policy_path: Path, output: Path, *, clock: DrillClock
) -> RunSettings:
    """Compressed timings from the scenario, the drill's policy, records marked ``drill=True``
    and reported on ``clock``'s time."""
    timing = scenario.timing
    return RunSettings(
        catalog_path=str(catalog_path),
        policy_path=str(policy_path),
        output_dir=str(output / "incidents"),
        confirm_window_seconds=10,
        bake_seconds=timing.bake_seconds,
        watch_interval_seconds=timing.watch_interval_seconds,
        healthy_checks=timing.healthy_checks,
        approval_poll_seconds=1,
        drill=True,
        drill_speed=clock.speed,
    )
