"""``throttle.apigateway``: lower a REST API stage's throttling to the catalog's emergency level.

State shape: ``{"rate_limit": float | None, "burst_limit": int | None}``, the stage-wide method
setting (``methodSettings["*/*"]``); None means no stage throttling is set (no setting, or
API Gateway's ``-1``), so the account's limits apply. The apply is one ``update_stage`` call
with two ``replace`` operations (``/*/*/throttling/rateLimit`` and ``/burstLimit``); restoring
"none set" writes ``-1``, which API Gateway reads as not throttled at the stage. The plan
never raises a limit: a stage already throttled below the emergency level keeps its lower value.
The action is its own inverse (the inverse plan writes ``before`` back).
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import ApiGatewayStage, Catalog, CatalogError
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call

KIND = "throttle.apigateway"
IAM_ACTIONS = ("apigateway:GET", "apigateway:PATCH")
ALL_METHODS = "*/*"
UNSET = -1


class StageThrottling:
    """The stage-wide rate and burst limits of one REST API stage."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        stage = aws_call(
            kind,
            _resource(aws, params),
            client("apigateway", aws),
            "get_stage",
            restApiId=params["rest_api"],
            stageName=params["stage"],
        )
        settings: dict[str, Any] = (stage.get("methodSettings") or {}).get(ALL_METHODS, {})
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        return {
            "rate_limit": None if rate is None or rate < 0 else float(rate),
            "burst_limit": None if burst is None or burst < 0 else int(burst),
        }

    def write(self, plan: Plan) -> list[str]:
        p = plan.params
        operations = [
            {
                "op": "replace",
                "path": f"/{ALL_METHODS}/throttling/{field}",
                "value": str(_or_unset(plan.after[key])),
            }
            for key, field in (("rate_limit", "rateLimit"), ("burst_limit", "burstLimit"))
            if plan.after[key] != plan.before.get(key)
        ]
        response = aws_call(
            plan.kind,
            _resource(plan.aws, p),
            client("apigateway", plan.aws),
            "update_stage",
            restApiId=p["rest_api"],
            stageName=p["stage"],
            patchOperations=operations,
        )
        return [request_id(response)]


STORE = StageThrottling()


def emergency_limits(before: JsonDict, stage: ApiGatewayStage) -> JsonDict:
    """The emergency limits, except where the stage is already throttled lower.

    >>> emergency_limits({"rate_limit": 5.0, "burst_limit": None},
    ...                  ApiGatewayStage(rest_api="a", stage="p", emergency_rate=50, emergency_burst=20))
    {'rate_limit': 5.0, 'burst_limit': 20}
    """
    rate, burst = before["rate_limit"], before["burst_limit"]
    return {
        "rate_limit": min(rate, stage.emergency_rate) if rate is not None else float(stage.emergency_rate),
        "burst_limit": min(burst, stage.emergency_burst) if burst is not None else stage.emergency_burst,
    }


def plan_throttle(*, catalog: Catalog, service: str, environment: str, region: str, aws: AwsTarget) -> Plan:
    """Plan throttling the region's API Gateway stage to the catalog's emergency level.

    Raises CatalogError when the region has no ``api_gateway``, ActionError when the stage is
    already throttled at or below that level (nothing to lower).
    """
    stage = _catalogued(catalog, service, environment, region)
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    params = location.params
    before = STORE.read(KIND, target, params)
    after = emergency_limits(before, stage)
    resource = location.targets[0]
    if after == before:
        raise ActionError(
            f"{KIND} on {resource}: already throttled at or below the emergency level ({before})"
        )
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=target,
        targets=location.targets,
        before=before,
        after=after,
        # Requests beyond the limits are refused (429): every caller of the stage may be.
        blast_radius=1.0,
        summary=f"Throttle API Gateway stage {stage.stage} of {service}/{environment} in {region}: "
        f"rate {_show(before['rate_limit'])}→{_show(after['rate_limit'])}/s, "
        f"burst {_show(before['burst_limit'])}→{_show(after['burst_limit'])}",
        params=params,
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's catalogued stage: the target and the ``rest_api`` and ``stage`` params."""
    stage = _catalogued(catalog, service, environment, aws.region)
    params: JsonDict = {"rest_api": stage.rest_api, "stage": stage.stage}
    return Location(targets=[_resource(aws, params)], params=params)


def _catalogued(catalog: Catalog, service: str, environment: str, region: str) -> ApiGatewayStage:
    stage = catalog.entry(service, environment).region(region).api_gateway
    if stage is None:
        raise CatalogError(f"{service}/{environment} has no api_gateway stage in {region} in the catalog")
    return stage


def _resource(aws: AwsTarget, params: JsonDict) -> str:
    return f"apigateway:{aws.region}:/restapis/{params['rest_api']}/stages/{params['stage']}"


def _or_unset(value: float | int | None) -> float | int:
    return UNSET if value is None else value


def _show(value: float | int | None) -> str:
    return "none" if value is None else f"{value:g}"
