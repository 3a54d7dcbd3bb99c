"""Feature flags: values, catalog checks, and AppConfig's two steps undone when the second fails."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget, client
from tasks.catalog import CatalogError
from tasks.flags import plan_flag_change
from tasks.flags_ssm import FlagValueError
from tasks.plan import PartialApplyError
from tests.faults import ACCESS_DENIED, inject_faults
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client

NAME = "/checkout/flags/new-pricing"


def test_ssm_values_and_history(aws: AwsTarget) -> None:
    cat = seed.catalog(flags=seed.seed_ssm_flag("on"))
    plan = plan_flag_change(
        catalog=cat, service=SERVICE, environment=ENV, flag="new-pricing", enabled=False, aws=aws
    )
    assert (plan.kind, plan.targets) == ("flags.disable.ssm", [f"ssm:{EAST}:parameter{NAME}"])
    apply_plan(plan)
    undo = inverse_plan(apply_plan(plan.model_copy(update={"before": {"enabled": True}})))
    apply_plan(undo)
    history = raw_client("ssm", EAST).get_parameter_history(Name=NAME)["Parameters"]
    assert [p["Value"] for p in history] == ["on", "off", "on"]
    assert history[1]["Description"] == f"firebreak plan {plan.hash}"


def test_ssm_value_that_is_neither_on_nor_off_is_refused(aws: AwsTarget) -> None:
    cat = seed.catalog(flags=seed.seed_ssm_flag("on"))
    plan = plan_flag_change(
        catalog=cat, service=SERVICE, environment=ENV, flag="new-pricing", enabled=False, aws=aws
    )
    raw_client("ssm", EAST).put_parameter(Name=NAME, Value="50%", Type="String", Overwrite=True)
    with pytest.raises(FlagValueError, match="'50%' is neither"):
        apply_plan(plan)
    assert raw_client("ssm", EAST).get_parameter(Name=NAME)["Parameter"]["Value"] == "50%"


def test_unknown_flag_or_store_is_a_catalog_error(aws: AwsTarget) -> None:
    cat = seed.catalog(flags=seed.seed_ssm_flag("on"))
    with pytest.raises(CatalogError, match="unknown flag 'dark-mode'"):
        plan_flag_change(
            catalog=cat, service=SERVICE, environment=ENV, flag="dark-mode", enabled=False, aws=aws
        )
    with pytest.raises(CatalogError, match="no flag store"):
        plan_flag_change(
            catalog=seed.catalog(),
            service=SERVICE,
            environment=ENV,
            flag="new-pricing",
            enabled=False,
            aws=aws,
        )


def _content(store_app: str, profile: str, version: int) -> dict[str, dict[str, dict[str, bool]]]:
    body = raw_client("appconfig", EAST).get_hosted_configuration_version(
        ApplicationId=store_app, ConfigurationProfileId=profile, VersionNumber=version
    )["Content"]
    content: dict[str, dict[str, dict[str, bool]]] = json.loads(body.read())
    return content


def test_appconfig_keeps_other_flags_and_deploys_the_new_version(aws: AwsTarget) -> None:
    store, fake = seed.seed_appconfig()
    assert store.appconfig_application and store.appconfig_profile
    with fake.serving(client("appconfig", aws)):
        plan = plan_flag_change(
            catalog=seed.catalog(flags=store),
            service=SERVICE,
            environment=ENV,
            flag="new-pricing",
            enabled=False,
            aws=aws,
        )
        apply_plan(plan)
    assert [d["ConfigurationVersion"] for d in fake.items] == ["1", "2"]
    values = _content(store.appconfig_application, store.appconfig_profile, 2)["values"]
    assert values == {"new_pricing": {"enabled": False}, "dark_mode": {"enabled": True}}


def test_appconfig_deployment_failure_deletes_the_new_version(aws: AwsTarget) -> None:
    store, fake = seed.seed_appconfig()
    assert store.appconfig_application and store.appconfig_profile
    appconfig = client("appconfig", aws)
    with fake.serving(appconfig):
        plan = plan_flag_change(
            catalog=seed.catalog(flags=store),
            service=SERVICE,
            environment=ENV,
            flag="new-pricing",
            enabled=False,
            aws=aws,
        )
        with (
            inject_faults(appconfig, "appconfig.StartDeployment", [ACCESS_DENIED]),
            pytest.raises(PartialApplyError, match="start deployment") as err,
        ):
            apply_plan(plan)
    assert err.value.undone == [f"create hosted configuration version of {plan.targets[0].split(':', 2)[2]}"]
    assert [d["ConfigurationVersion"] for d in fake.items] == ["1"]  # live config never changed
    with pytest.raises(ClientError, match="ResourceNotFound"):
        _content(store.appconfig_application, store.appconfig_profile, 2)
    assert _content(store.appconfig_application, store.appconfig_profile, 1)["values"]["new_pricing"][
        "enabled"
    ]


def test_ssm_flag_honours_the_catalogs_on_value(aws: AwsTarget) -> None:
    """A flag whose "on" is ``true`` reads as on, and is switched off with ``off``, back with ``true``."""
    store = seed.seed_ssm_flag("true").model_copy(update={"on_values": {"new-pricing": "true"}})
    plan = plan_flag_change(
        catalog=seed.catalog(flags=store),
        service=SERVICE,
        environment=ENV,
        flag="new-pricing",
        enabled=False,
        aws=aws,
    )
    assert plan.before == {"enabled": True}
    apply_plan(inverse_plan(apply_plan(plan)))
    history = raw_client("ssm", EAST).get_parameter_history(Name=NAME)["Parameters"]
    assert [p["Value"] for p in history] == ["true", "off", "true"]


def test_ssm_flag_with_a_custom_on_value_refuses_the_default_on(aws: AwsTarget) -> None:
    store = seed.seed_ssm_flag("on").model_copy(update={"on_values": {"new-pricing": "true"}})
    with pytest.raises(FlagValueError, match="'on' is neither 'true' nor 'off'"):
        plan_flag_change(
            catalog=seed.catalog(flags=store),
            service=SERVICE,
            environment=ENV,
            flag="new-pricing",
            enabled=False,
            aws=aws,
        )
