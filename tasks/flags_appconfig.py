"""Feature flags in AWS AppConfig (a ``AWS.AppConfig.FeatureFlags`` configuration profile).

The live value of a flag is the one in the configuration version most recently deployed to the
catalogued environment (``list_deployments``, newest not rolled back). Changing it takes two
steps: create a hosted configuration version (the deployed JSON with only this flag's
``enabled`` changed), then ``start_deployment`` of that version with ``AppConfig.AllAtOnce``.

If the deployment cannot be started, the new hosted version is deleted again: it was never
deployed, so the live configuration never changed, and deleting it leaves no stray version for
a later deployment to pick up by mistake. Hosted versions are immutable, and a deployment that
has started cannot be un-started, only superseded (which is what the inverse plan does).
"""

from __future__ import annotations

import json
from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import FlagStore
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import Step, UnconfirmedActionError, aws_call, run_steps

IAM_ACTIONS = (
    "appconfig:GetConfigurationProfile",
    "appconfig:ListDeployments",
    "appconfig:GetHostedConfigurationVersion",
    "appconfig:CreateHostedConfigurationVersion",
    "appconfig:DeleteHostedConfigurationVersion",
    "appconfig:StartDeployment",
)
STRATEGY = "AppConfig.AllAtOnce"  # an emergency switch should not trickle out over minutes
NOT_LIVE = frozenset({"ROLLING_BACK", "ROLLED_BACK", "REVERTED"})


class AppConfigFlag:
    """Reads the deployed flag value; writes it as a new hosted version plus a deployment."""

    def locate(self, store: FlagStore, flag: str) -> tuple[JsonDict, str]:
        params = {
            "flag": flag,
            "key": store.flags[flag],
            "application": store.appconfig_application,
            "profile": store.appconfig_profile,
            "environment": store.appconfig_environment,
            "strategy": STRATEGY,
        }
        return params, f"appconfig:{store.region}:{_resource(params)}"

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        content = _deployed(kind, aws, params)
        return {"enabled": _enabled(kind, params, content)}

    def write(self, plan: Plan) -> list[str]:
        p = plan.params
        appconfig = client("appconfig", plan.aws)
        content = _deployed(plan.kind, plan.aws, p)
        content["values"][p["key"]]["enabled"] = plan.after["enabled"]
        created: dict[str, int] = {}

        def create_version() -> str:
            try:
                response = aws_call(
                    plan.kind,
                    _resource(p),
                    appconfig,
                    "create_hosted_configuration_version",
                    ApplicationId=p["application"],
                    ConfigurationProfileId=p["profile"],
                    Content=json.dumps(content).encode(),
                    ContentType="application/json",
                    Description=f"firebreak plan {plan.hash}",
                )
            except UnconfirmedActionError as e:
                # The deployment needs the version number the lost answer carried; a version
                # created meanwhile stays undeployed (harmless) and is named by its description.
                raise ActionError(f"{e}; nothing was deployed (look for 'firebreak plan {plan.hash}')") from e
            created["version"] = int(response["VersionNumber"])
            return request_id(response)

        def delete_version() -> None:
            aws_call(
                plan.kind,
                _resource(p),
                appconfig,
                "delete_hosted_configuration_version",
                ApplicationId=p["application"],
                ConfigurationProfileId=p["profile"],
                VersionNumber=created["version"],
            )

        def deploy() -> str:
            response = aws_call(
                plan.kind,
                _resource(p),
                appconfig,
                "start_deployment",
                ApplicationId=p["application"],
                EnvironmentId=p["environment"],
                DeploymentStrategyId=p["strategy"],
                ConfigurationProfileId=p["profile"],
                ConfigurationVersion=str(created["version"]),
                Description=f"firebreak plan {plan.hash}",
            )
            return request_id(response)

        return run_steps(
            plan.kind,
            [
                Step(
                    f"create hosted configuration version of {_resource(p)}", create_version, delete_version
                ),
                Step(f"start deployment to environment {p['environment']}", deploy, None),
            ],
        )


def _resource(params: JsonDict) -> str:
    return f"{params['application']}/{params['profile']}/{params['environment']}#{params['key']}"


def _deployed(kind: str, aws: AwsTarget, params: JsonDict) -> dict[str, Any]:
    """The JSON content of the configuration version live in the environment."""
    appconfig = client("appconfig", aws)
    ids = {"ApplicationId": params["application"]}
    name = aws_call(
        kind,
        _resource(params),
        appconfig,
        "get_configuration_profile",
        ConfigurationProfileId=params["profile"],
        **ids,
    )["Name"]
    items: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = aws_call(
            kind,
            _resource(params),
            appconfig,
            "list_deployments",
            EnvironmentId=params["environment"],
            **ids,
            **token,
        )
        items += page.get("Items", [])
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    live = sorted(
        (i for i in items if i["ConfigurationName"] == name and i["State"] not in NOT_LIVE),
        key=lambda i: i["DeploymentNumber"],
        reverse=True,
    )
    if not live:
        raise ActionError(f"{kind} on {_resource(params)}: profile {name!r} was never deployed there")
    version = int(live[0]["ConfigurationVersion"])
    body = aws_call(
        kind,
        _resource(params),
        appconfig,
        "get_hosted_configuration_version",
        ConfigurationProfileId=params["profile"],
        VersionNumber=version,
        **ids,
    )["Content"]
    try:
        content: dict[str, Any] = json.loads(body.read())
    except ValueError as e:
        raise ActionError(f"{kind} on {_resource(params)}: version {version} is not JSON") from e
    return content


def _enabled(kind: str, params: JsonDict, content: dict[str, Any]) -> bool:
    try:
        return bool(content["values"][params["key"]]["enabled"])
    except (KeyError, TypeError) as e:
        raise ActionError(
            f"{kind} on {_resource(params)}: flag {params['key']!r} not in the deployed config"
        ) from e
