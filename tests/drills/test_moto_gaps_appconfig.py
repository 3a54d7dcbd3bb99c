"""The sandbox's AppConfig environments and deployments (drills/moto_gaps.py), server side:
the flows' AppConfig flag action turns a flag on and off again, read back with plain boto3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from drills.sandbox import Sandbox
from drills.world import seed_world
from tasks.actions import apply_plan
from tasks.catalog import FlagStore, load_catalog
from tasks.flags import plan_flag_change

QUOTES = Path(__file__).parents[2] / "drills" / "catalogs" / "quotes.yaml"


def _appconfig(sandbox: Sandbox, store: FlagStore) -> Any:
    return boto3.client("appconfig", region_name=store.region, endpoint_url=sandbox.endpoint_url)


def _deployed(sandbox: Sandbox, store: FlagStore) -> tuple[int, dict[str, bool]]:
    appconfig = _appconfig(sandbox, store)
    ids = {"ApplicationId": store.appconfig_application}
    newest = appconfig.list_deployments(EnvironmentId=store.appconfig_environment, **ids)["Items"][0]
    content = appconfig.get_hosted_configuration_version(
        ConfigurationProfileId=store.appconfig_profile,
        VersionNumber=int(newest["ConfigurationVersion"]),
        **ids,
    )["Content"]
    values = json.loads(content.read())["values"]
    return newest["DeploymentNumber"], {key: value["enabled"] for key, value in values.items()}


def test_flag_action_deploys_a_new_version_and_back(sandbox: Sandbox) -> None:
    sandbox.reset()
    catalog = seed_world(load_catalog(QUOTES), sandbox.endpoint_url)
    store = catalog.entry("quotes", "prod").flags
    assert store is not None
    for enabled, number in ((True, 2), (False, 3)):
        plan = plan_flag_change(
            catalog=catalog, service="quotes", environment="prod", flag="instant-quotes", enabled=enabled,
            aws=sandbox.target(store.region),
        )  # fmt: skip
        apply_plan(plan)
        assert _deployed(sandbox, store) == (number, {"instant_quotes": enabled, "partner_rates": False})


def test_unknown_strategy_and_version_are_refused(sandbox: Sandbox) -> None:
    sandbox.reset()
    store = seed_world(load_catalog(QUOTES), sandbox.endpoint_url).entry("quotes", "prod").flags
    assert store is not None
    appconfig = _appconfig(sandbox, store)
    ids = {
        "ApplicationId": store.appconfig_application,
        "EnvironmentId": store.appconfig_environment,
        "ConfigurationProfileId": store.appconfig_profile,
    }
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        appconfig.start_deployment(DeploymentStrategyId="nope", ConfigurationVersion="1", **ids)
    with pytest.raises(ClientError, match="BadRequestException"):
        appconfig.start_deployment(
            DeploymentStrategyId="AppConfig.AllAtOnce", ConfigurationVersion="9", **ids
        )
    assert _deployed(sandbox, store)[0] == 1  # neither was recorded
