"""AppConfig flag history: what each deployment of the flags profile changed (pure).

The AWS side (list the environment's deployments, read each deployed version) is exercised by
tests/drills/test_world.py's snapshot of the quotes world and the quotes-bad-flag drill.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tasks.catalog import FlagStore, FlagStoreKind
from tasks.snapshot_flags import Deployed, appconfig_changes
from tasks.snapshot_sources import Window

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STORE = FlagStore(
    kind=FlagStoreKind.APPCONFIG,
    region="eu-central-1",
    flags={"instant-quotes": "instant_quotes", "partner-rates": "partner_rates"},
    appconfig_application="app",
    appconfig_profile="profile",
    appconfig_environment="env",
)


def _at(minutes: int, **enabled: bool) -> Deployed:
    return Deployed(started_at=T0 + timedelta(minutes=minutes), enabled=enabled)


def test_a_deployment_that_turns_a_flag_on_is_a_change_with_before_and_after() -> None:
    deployed = [
        _at(0, instant_quotes=False, partner_rates=True),
        _at(5, instant_quotes=False, partner_rates=True),  # redeploying the same values changes nothing
        _at(9, instant_quotes=True, partner_rates=True),
    ]
    window = Window(start=T0 - timedelta(minutes=30), end=T0 + timedelta(minutes=10))
    changes = appconfig_changes(STORE, deployed, "eu-central-1", window)
    assert [(c.resource, c.before, c.after, c.at) for c in changes] == [
        ("instant_quotes", "off", "on", T0 + timedelta(minutes=9))
    ]
    assert changes[0].summary == "flag instant-quotes: 'off' -> 'on' (AppConfig deployment)"


def test_the_first_deployment_and_changes_outside_the_window_are_not_changes() -> None:
    deployed = [_at(0, instant_quotes=True), _at(60, instant_quotes=False)]
    window = Window(start=T0 - timedelta(minutes=30), end=T0 + timedelta(minutes=10))
    assert appconfig_changes(STORE, deployed, "eu-central-1", window) == []
