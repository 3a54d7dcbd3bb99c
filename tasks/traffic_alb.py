"""``traffic.shift.alb``: move traffic between target groups behind one ALB listener.

State shape: ``{target_group_arn: weight}`` of the listener's default forward action. Only
target groups listed in the catalog may carry weight; a listener forwarding anywhere else is
refused rather than silently rewritten. Apply is one ``modify_listener`` call (atomic).
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import AlbListener, Catalog, CatalogError
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call
from tasks.weights import blast_radius, check_weights, describe, step_toward

KIND = "traffic.shift.alb"
IAM_ACTIONS = ("elasticloadbalancing:DescribeListeners", "elasticloadbalancing:ModifyListener")
MAX_WEIGHT = 999


class AlbWeights:
    """Reads and rewrites the forward weights of one listener's default action."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        listener = AlbListener.model_validate(params["listener"])
        groups = _forward(aws, listener)["ForwardConfig"]["TargetGroups"]
        return {tg["TargetGroupArn"]: int(tg.get("Weight", 1)) for tg in groups}

    def write(self, plan: Plan) -> list[str]:
        listener = AlbListener.model_validate(plan.params["listener"])
        forward = _forward(plan.aws, listener)
        config = {
            **forward["ForwardConfig"],
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": w} for arn, w in sorted(plan.after.items())],
        }
        response = aws_call(
            KIND,
            listener.listener_arn,
            client("elbv2", plan.aws),
            "modify_listener",
            ListenerArn=listener.listener_arn,
            DefaultActions=[{"Type": "forward", "ForwardConfig": config}],
        )
        return [request_id(response)]


def plan_alb_shift(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    region: str,
    weights: dict[str, int],
    step: int | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan new listener weights (keyed by target group ARN), at most ``step`` points at a time."""
    listener = _catalogued(catalog, service, environment, region)
    unknown = sorted(set(weights) - set(listener.target_group_arns))
    if unknown:
        raise CatalogError(f"{service}/{environment}: target groups {unknown} are not in the catalog")
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    params: JsonDict = {**location.params, "step": step}
    before: dict[str, int] = AlbWeights().read(KIND, target, params)
    stray = sorted(set(before) - set(listener.target_group_arns))
    if stray:
        raise ActionError(
            f"{KIND} on {listener.listener_arn}: forwards to uncatalogued target groups {stray}"
        )
    after = step_toward(before, weights, step)
    check_weights(after, max_weight=MAX_WEIGHT, what=f"{KIND} {service}/{environment}")
    radius = blast_radius(before, after)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=target,
        targets=location.targets,
        before=before,
        after=after,
        blast_radius=radius,
        summary=f"ALB listener in {region}: {describe(_short(before), _short(after))} "
        f"({radius:.0%} of traffic moves)",
        params=params,
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's catalogued listener: its ARN the target, the listener in params, its target
    groups the only keys the state may use."""
    listener = _catalogued(catalog, service, environment, aws.region)
    return Location(
        targets=[listener.listener_arn],
        params={"listener": listener.model_dump(mode="json")},
        state_keys=frozenset(listener.target_group_arns),
    )


def _catalogued(catalog: Catalog, service: str, environment: str, region: str) -> AlbListener:
    listener = catalog.entry(service, environment).region(region).alb
    if listener is None:
        raise CatalogError(f"{service}/{environment} has no ALB listener in {region} in the catalog")
    return listener


def _forward(aws: AwsTarget, listener: AlbListener) -> dict[str, Any]:
    """The listener's forward action, normalised to the ForwardConfig form."""
    page = aws_call(
        KIND,
        listener.listener_arn,
        client("elbv2", aws),
        "describe_listeners",
        ListenerArns=[listener.listener_arn],
    )
    actions = page["Listeners"][0]["DefaultActions"]
    forwards = [a for a in actions if a["Type"] == "forward"]
    if len(actions) != 1 or not forwards:
        raise ActionError(f"{KIND} on {listener.listener_arn}: default action is not a single forward")
    forward: dict[str, Any] = forwards[0]
    if "ForwardConfig" not in forward:
        forward = {
            **forward,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": forward["TargetGroupArn"]}]},
        }
    return forward


def _short(weights: dict[str, int]) -> dict[str, int]:
    """Target group names instead of full ARNs, for the one-line summary."""
    return {arn.split(":targetgroup/")[-1].split("/")[0]: w for arn, w in weights.items()}
