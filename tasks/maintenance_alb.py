"""``maintenance.enable.alb`` / ``maintenance.disable.alb``: a maintenance page in front of everything.

Enabling adds one listener rule at priority 1 (the highest) to the region's catalogued ALB
listener, matching every path and answering a fixed 503 ``text/html`` page; it is tagged
``firebreak:maintenance = SERVICE/ENVIRONMENT`` so that Firebreak finds exactly its own rule.
Disabling deletes the rules carrying that tag and no other. State shape: ``{"enabled": bool}``:
whether such a tagged rule exists on the listener. Both are idempotent: a second enable finds
the rule, a second disable finds none.

Priority 1 held by another rule is refused when planning: the page must come first, and moving
someone else's rule is a person's decision.
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call

ENABLE, DISABLE = "maintenance.enable.alb", "maintenance.disable.alb"
IAM_ACTIONS = (
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:AddTags",  # CreateRule with Tags is authorised as tagging too
    "elasticloadbalancing:DeleteRule",
)
TAG_KEY = "firebreak:maintenance"
PRIORITY = 1
STATUS_CODE = "503"
CONTENT_TYPE = "text/html"
PAGE = (
    "<!doctype html><html><head><title>Down for maintenance</title></head><body>"
    "<h1>Down for maintenance</h1><p>We are fixing a problem and will be back shortly.</p>"
    "</body></html>"
)
_TAGS_PER_CALL = 20  # DescribeTags takes at most 20 resource ARNs


class MaintenanceRule:
    """Whether Firebreak's tagged maintenance rule is on the listener; adds or deletes it."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        return {"enabled": bool(_ours(kind, aws, params))}

    def write(self, plan: Plan) -> list[str]:
        p, elbv2 = plan.params, client("elbv2", plan.aws)
        if not plan.after["enabled"]:
            return [
                request_id(aws_call(plan.kind, arn, elbv2, "delete_rule", RuleArn=arn))
                for arn in _ours(plan.kind, plan.aws, p)
            ]
        response = aws_call(
            plan.kind,
            p["listener_arn"],
            elbv2,
            "create_rule",
            ListenerArn=p["listener_arn"],
            Priority=PRIORITY,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["*"]}}],
            Actions=[
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {
                        "StatusCode": STATUS_CODE,
                        "ContentType": CONTENT_TYPE,
                        "MessageBody": PAGE,
                    },
                }
            ],
            Tags=[{"Key": TAG_KEY, "Value": p["tag"]}],
        )
        return [request_id(response)]


STORE = MaintenanceRule()


def plan_maintenance(
    *, catalog: Catalog, service: str, environment: str, region: str, enable: bool = True, aws: AwsTarget
) -> Plan:
    """Plan putting up (``enable``) or taking down the maintenance page on the region's listener.

    Raises CatalogError when the region has no resolved ALB listener, ActionError when priority
    1 is held by a rule that is not Firebreak's.
    """
    kind = ENABLE if enable else DISABLE
    target = aws.in_region(region)
    location = locate(catalog, service, environment, target)
    params, listener_arn = location.params, location.targets[0]
    before = STORE.read(kind, target, params)
    if enable and not before["enabled"]:
        holder = next((r for r in _rules(kind, target, params) if r["Priority"] == str(PRIORITY)), None)
        if holder is not None:
            raise ActionError(
                f"{kind} on {listener_arn}: priority {PRIORITY} is held by {holder['RuleArn']}; "
                "a person must move it before the maintenance page can come first"
            )
    after = {"enabled": enable}
    return Plan(
        kind=kind,
        service=service,
        environment=environment,
        aws=target,
        targets=location.targets,
        before=before,
        after=after,
        # The page turns every user of the listener away (or lets them all back in).
        blast_radius=1.0 if before != after else 0.0,
        summary=f"{'Put up' if enable else 'Take down'} the maintenance page ({STATUS_CODE}) on the "
        f"ALB listener of {service}/{environment} in {region}",
        params=params,
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The region's resolved, catalogued listener: the target and the ``listener_arn`` and
    ``tag`` params."""
    listener = catalog.entry(service, environment).region(aws.region).alb
    if listener is None or not listener.resolved:
        raise CatalogError(
            f"{service}/{environment} has no resolved ALB listener in {aws.region} in the catalog"
        )
    return Location(
        targets=[listener.listener_arn],
        params={"listener_arn": listener.listener_arn, "tag": f"{service}/{environment}"},
    )


def _rules(kind: str, aws: AwsTarget, params: JsonDict) -> list[dict[str, Any]]:
    arn = params["listener_arn"]
    rules: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = aws_call(kind, arn, client("elbv2", aws), "describe_rules", ListenerArn=arn, **marker)
        rules += [r for r in page["Rules"] if not r.get("IsDefault")]
        if not page.get("NextMarker"):
            return rules
        marker = {"Marker": page["NextMarker"]}


def _ours(kind: str, aws: AwsTarget, params: JsonDict) -> list[str]:
    """ARNs of the listener's rules tagged as this service's maintenance page."""
    arns = [r["RuleArn"] for r in _rules(kind, aws, params)]
    ours: list[str] = []
    for i in range(0, len(arns), _TAGS_PER_CALL):
        chunk = arns[i : i + _TAGS_PER_CALL]
        described = aws_call(
            kind, params["listener_arn"], client("elbv2", aws), "describe_tags", ResourceArns=chunk
        )["TagDescriptions"]
        ours += [
            d["ResourceArn"]
            for d in described
            if {"Key": TAG_KEY, "Value": params["tag"]} in d.get("Tags", [])
        ]
    return ours
