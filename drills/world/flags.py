"""Feature flags, every one off (its known-good value): SSM parameters (version 1 labelled
``known-good``) or an AppConfig feature-flag profile deployed to its environment.

For AppConfig the catalog names the application, profile and environment; AWS generates their
ids, so the returned store carries the ids (the names are what the catalog gave).
"""

from __future__ import annotations

import json

from drills.seed_region import deployer_client
from drills.world.names import FLAG_OFF, KNOWN_GOOD_LABEL
from tasks.aws import AwsTarget
from tasks.catalog import FlagStore, FlagStoreKind
from tasks.flags_appconfig import STRATEGY


def create_flags(target: AwsTarget, store: FlagStore) -> FlagStore:
    """Create the store's flags in ``target``'s region; the store as the flows must see it."""
    if store.kind is FlagStoreKind.SSM:
        ssm = deployer_client("ssm", target)
        for parameter in store.flags.values():
            version = ssm.put_parameter(Name=parameter, Value=FLAG_OFF, Type="String")["Version"]
            ssm.label_parameter_version(Name=parameter, ParameterVersion=version, Labels=[KNOWN_GOOD_LABEL])
        return store
    return _appconfig(target, store)


def _appconfig(target: AwsTarget, store: FlagStore) -> FlagStore:
    appconfig = deployer_client("appconfig", target)
    app = appconfig.create_application(Name=store.appconfig_application)["Id"]
    profile = appconfig.create_configuration_profile(
        ApplicationId=app,
        Name=store.appconfig_profile,
        LocationUri="hosted",
        Type="AWS.AppConfig.FeatureFlags",
    )["Id"]
    env = appconfig.create_environment(ApplicationId=app, Name=store.appconfig_environment)["Id"]
    content = {
        "version": "1",
        "flags": {key: {"name": key} for key in store.flags.values()},
        "values": {key: {"enabled": False} for key in store.flags.values()},
    }
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=json.dumps(content).encode(),
        ContentType="application/json",
    )["VersionNumber"]
    appconfig.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        DeploymentStrategyId=STRATEGY,
        ConfigurationProfileId=profile,
        ConfigurationVersion=str(version),
    )
    return store.model_copy(
        update={"appconfig_application": app, "appconfig_profile": profile, "appconfig_environment": env}
    )
