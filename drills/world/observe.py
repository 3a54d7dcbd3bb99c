"""Read each service's live state out of the sandbox, every tick, for the world health model.

Whatever a flow or a person changed (a revision, an alias, a launch template, weights, a flag)
shows on the next tick. Only immutable things are cached (a task-definition revision's image, a
Lambda version's description, a launch-template version's description, a hosted AppConfig
version's content), so a catalog of many services stays cheap to observe.
"""

from __future__ import annotations

import json
from typing import Any

from drills.observe import FLAG_ON_VALUES, ObserveError, has_healthy_target, weighted_records
from drills.world.names import is_bad
from drills.world.state import RegionState, ServiceState
from tasks.aws import AwsTarget, call, client
from tasks.catalog import FlagStore, FlagStoreKind, RegionResources, ServiceEnvironment
from tasks.flags_appconfig import NOT_LIVE
from tasks.throttle_apigateway import KIND as THROTTLE
from tasks.throttle_apigateway import STORE as STAGE_THROTTLING


class WorldObserver:
    """Observes services of a catalog; holds the caches of immutable reads."""

    def __init__(self, endpoint_url: str) -> None:
        self._sandbox = AwsTarget(region="us-east-1", endpoint_url=endpoint_url)
        self._immutable: dict[tuple[str, ...], Any] = {}

    def service(self, entry: ServiceEnvironment) -> ServiceState:
        weights = self._weights(entry)
        flags_on = self.flags_on(entry.flags) if entry.flags else frozenset()
        return ServiceState(
            regions={
                region: self._region(res, self._sandbox.in_region(region), weights.get(region))
                for region, res in entry.regions.items()
            },
            flags_on=flags_on,
            open_breakers=frozenset(
                name for name, dependency in entry.dependencies.items() if dependency.breaker_flag in flags_on
            ),
        )

    def _cached(self, key: tuple[str, ...], read: Any) -> Any:
        if key not in self._immutable:
            self._immutable[key] = read()
        return self._immutable[key]

    def _region(self, res: RegionResources, target: AwsTarget, weight: int | None) -> RegionState:
        shares: dict[str, float] = {}
        units: list[int] = []
        revision = ""
        ecs_groups: set[str] = set()
        if res.ecs is not None:
            ecs = client("ecs", target)
            found = call(ecs, "describe_services", cluster=res.ecs.cluster, services=[res.ecs.service])[
                "services"
            ]
            if not found:
                raise ObserveError(f"{target.region}: ECS service {res.ecs.service} not found")
            arn = found[0]["taskDefinition"]
            image = self._cached(
                ("td", arn),
                lambda: call(ecs, "describe_task_definition", taskDefinition=arn)["taskDefinition"][
                    "containerDefinitions"
                ][0]["image"],
            )
            shares["bad_deploy"] = 1.0 if is_bad(image) else 0.0
            units.append(int(found[0]["desiredCount"]))
            revision = str(image)
            if found[0]["desiredCount"] > 0:
                ecs_groups = {lb["targetGroupArn"] for lb in found[0].get("loadBalancers", [])}
        if res.lambda_alias is not None:
            shares["bad_lambda"], version = self._lambda(res, target)
            revision = revision or f"{res.lambda_alias.function}:{version}"
        if res.asg_name is not None:
            shares["bad_launch_template"], in_service = self._asg(res.asg_name, target)
            units.append(in_service)
        dead = self._alb_dead_share(res, target, ecs_groups) if res.alb is not None else 0.0
        return RegionState(
            bad_shares=shares,
            alb_dead_share=dead,
            weight=weight,
            capacity_units=min(units) if units else None,
            revision=revision,
            throttle_rate=stage_rate_limit(res, target),
            maintenance_page=maintenance_page_up(res, target),
        )

    def _lambda(self, res: RegionResources, target: AwsTarget) -> tuple[float, str]:
        assert res.lambda_alias is not None
        lam, function = client("lambda", target), res.lambda_alias.function
        alias = call(lam, "get_alias", FunctionName=function, Name=res.lambda_alias.alias)
        extra: dict[str, float] = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {})
        shares = {alias["FunctionVersion"]: 1.0 - sum(extra.values()), **extra}
        bad = 0.0
        for version, share in shares.items():
            description = self._cached(
                ("lambda", target.region, function, version),
                lambda v=version: call(
                    lam, "get_function_configuration", FunctionName=function, Qualifier=v
                ).get("Description", ""),
            )
            bad += share if is_bad(description) else 0.0
        return min(1.0, max(0.0, bad)), str(alias["FunctionVersion"])

    def _asg(self, name: str, target: AwsTarget) -> tuple[float, int]:
        autoscaling, ec2 = client("autoscaling", target), client("ec2", target)
        group = call(autoscaling, "describe_auto_scaling_groups", AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ]
        if not group:
            raise ObserveError(f"{target.region}: Auto Scaling group {name} not found")
        serving = [i for i in group[0]["Instances"] if i["LifecycleState"] == "InService"]
        bad = 0
        for instance in serving:
            template = instance.get("LaunchTemplate") or {}
            tid, version = template.get("LaunchTemplateId", ""), str(template.get("Version", ""))
            description = self._cached(
                ("lt", target.region, tid, version),
                lambda t=tid, v=version: call(
                    ec2, "describe_launch_template_versions", LaunchTemplateId=t, Versions=[v]
                )["LaunchTemplateVersions"][0].get("VersionDescription", ""),
            )
            bad += is_bad(description)
        return (bad / len(serving) if serving else 0.0), len(serving)

    def _alb_dead_share(self, res: RegionResources, target: AwsTarget, ecs_groups: set[str]) -> float:
        """The share of listener weight sent to groups nothing serves. A group the ECS service
        is attached to counts as served: AWS registers its tasks there, moto has no tasks."""
        assert res.alb is not None
        elbv2 = client("elbv2", target)
        listener = call(elbv2, "describe_listeners", ListenerArns=[res.alb.listener_arn])["Listeners"][0]
        action = listener["DefaultActions"][0]
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
        ]
        total = sum(int(g.get("Weight", 1)) for g in groups)
        dead = sum(
            int(g.get("Weight", 1))
            for g in groups
            if g["TargetGroupArn"] not in ecs_groups and not has_healthy_target(elbv2, g["TargetGroupArn"])
        )
        return dead / total if total else 1.0

    def _weights(self, entry: ServiceEnvironment) -> dict[str, int]:
        if entry.route53 is None:
            return {}
        records = weighted_records(entry.route53, self._sandbox.in_region(entry.primary_region))
        by_identifier = {r.get("SetIdentifier"): int(r.get("Weight", 0)) for r in records}
        return {
            region: by_identifier.get(ident, 0) for region, ident in entry.route53.set_identifiers.items()
        }

    def flags_on(self, store: FlagStore) -> frozenset[str]:
        """The store's flags that are on: SSM values (the catalog's ``on_values`` too), or the
        AppConfig version deployed last."""
        target = self._sandbox.in_region(store.region)
        if store.kind is FlagStoreKind.SSM:
            found = call(client("ssm", target), "get_parameters", Names=list(store.flags.values()))[
                "Parameters"
            ]
            values = {p["Name"]: str(p["Value"]).strip().lower() for p in found}
            return frozenset(
                f
                for f, p in store.flags.items()
                if values.get(p) in FLAG_ON_VALUES | {store.on_value(f).strip().lower()}
            )
        return self._appconfig_on(store, target)

    def _appconfig_on(self, store: FlagStore, target: AwsTarget) -> frozenset[str]:
        appconfig = client("appconfig", target)
        ids = {"ApplicationId": store.appconfig_application}
        items = call(appconfig, "list_deployments", EnvironmentId=store.appconfig_environment, **ids)["Items"]
        live = [i for i in items if i["State"] not in NOT_LIVE]
        if not live:
            return frozenset()
        version = str(max(live, key=lambda i: i["DeploymentNumber"])["ConfigurationVersion"])
        values = self._cached(
            ("appconfig", str(store.appconfig_application), str(store.appconfig_profile), version),
            lambda: json.loads(
                call(
                    appconfig,
                    "get_hosted_configuration_version",
                    ConfigurationProfileId=store.appconfig_profile,
                    VersionNumber=int(version),
                    **ids,
                )["Content"].read()
            )["values"],
        )
        return frozenset(f for f, key in store.flags.items() if values.get(key, {}).get("enabled"))


def stage_rate_limit(res: RegionResources, target: AwsTarget) -> float | None:
    """The region's API Gateway stage's stage-wide rate limit (req/s), read as
    ``throttle.apigateway`` reads it; None without a stage or a limit."""
    if res.api_gateway is None:
        return None
    params = {"rest_api": res.api_gateway.rest_api, "stage": res.api_gateway.stage}
    rate = STAGE_THROTTLING.read(THROTTLE, target, params)["rate_limit"]
    return None if rate is None else float(rate)


def maintenance_page_up(res: RegionResources, target: AwsTarget) -> bool:
    """Whether a rule on the region's ALB listener answers every request with a fixed response
    (an action of type ``fixed-response``, every condition a path pattern ``*``), as
    ``maintenance.enable.alb`` puts up: the ALB then answers every request itself, whoever made
    the rule, and none reaches the service."""
    if res.alb is None:
        return False
    rules = call(client("elbv2", target), "describe_rules", ListenerArn=res.alb.listener_arn)["Rules"]
    return any(_answers_everything(rule) for rule in rules if not rule.get("IsDefault"))


def _answers_everything(rule: dict[str, Any]) -> bool:
    conditions = rule.get("Conditions", [])
    every_path = bool(conditions) and all(
        c.get("Field") == "path-pattern"
        and "*" in c.get("PathPatternConfig", {}).get("Values", c.get("Values", []))
        for c in conditions
    )
    return every_path and any(a.get("Type") == "fixed-response" for a in rule.get("Actions", []))
