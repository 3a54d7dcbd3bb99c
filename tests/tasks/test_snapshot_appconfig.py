"""AppConfig flag history: what each deployment of the flags profile changed (pure), and how
many deployments are read (moto, with the sandbox's AppConfig gap fills).

The AWS side is also exercised by tests/drills/test_world.py's snapshot of the quotes world and
the quotes-bad-flag drill.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tasks import snapshot_flags
from tasks.aws import AwsTarget
from tasks.catalog import FlagStore, FlagStoreKind
from tasks.flags_appconfig import STRATEGY
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


def test_the_deployments_read_are_bounded_by_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: every deployment of the environment was listed and each one's version read;
    now only those in the window and the last one before it (what was on when it began)."""
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        aws = AwsTarget(region="eu-central-1")
        appconfig = boto3.client("appconfig", region_name="eu-central-1")
        app = appconfig.create_application(Name="app")["Id"]
        profile = appconfig.create_configuration_profile(
            ApplicationId=app, Name="profile", LocationUri="hosted", Type="AWS.AppConfig.FeatureFlags"
        )["Id"]
        env = appconfig.create_environment(ApplicationId=app, Name="env")["Id"]
        started = []
        for enabled in (False, True, False, False, True, False):  # the last two inside the window
            content = {"version": "1", "flags": {"instant_quotes": {"name": "q"}},
                       "values": {"instant_quotes": {"enabled": enabled}}}  # fmt: skip
            version = appconfig.create_hosted_configuration_version(
                ApplicationId=app, ConfigurationProfileId=profile, Content=json.dumps(content).encode(),
                ContentType="application/json",
            )["VersionNumber"]  # fmt: skip
            number = appconfig.start_deployment(
                ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=STRATEGY,
                ConfigurationProfileId=profile, ConfigurationVersion=str(version),
            )["DeploymentNumber"]  # fmt: skip
            got = appconfig.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)
            started.append(got["StartedAt"])
        store = STORE.model_copy(
            update={"appconfig_application": app, "appconfig_profile": profile, "appconfig_environment": env}
        )
        reads: list[int] = []
        original = snapshot_flags._enabled_flags

        def counted(appconfig: Any, store: FlagStore, deployment: dict[str, Any]) -> dict[str, bool]:
            reads.append(deployment["DeploymentNumber"])
            return original(appconfig, store, deployment)

        monkeypatch.setattr(snapshot_flags, "_enabled_flags", counted)
        window = Window(start=started[4], end=started[5] + timedelta(minutes=1))
        found = snapshot_flags.flag_source(store, aws, window)
    assert len(reads) == 3  # the last before the window, and the two in it
    assert [(c.before, c.after) for c in found.changes or []] == [("off", "on"), ("on", "off")]
