"""``rollback.asg``: put an Auto Scaling group back on its previous launch-template version.

State shape: ``{region: {"launch_template_id": ..., "version": "N"}}``. Only new instances use
the version set here: replacing running instances is left to the group's own processes (moto
has no instance refresh, and a refresh is a separate, heavier decision). Regions are rolled
back one after another and undone on failure (tasks.rollback_regional).
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError
from tasks.plan import ActionError, JsonDict, Plan
from tasks.rollback_regional import RegionalStore, capacity_share, pick_regions
from tasks.steps import aws_call

KIND = "rollback.asg"
IAM_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:UpdateAutoScalingGroup",
    "ec2:DescribeLaunchTemplateVersions",
    # UpdateAutoScalingGroup with a launch template is authorised as launching from it.
    "ec2:RunInstances",
)


class AsgLaunchTemplate:
    """The launch template version an Auto Scaling group launches, in one region."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any:
        name = spec["asg_name"]
        page = aws_call(
            kind,
            _resource(aws, name),
            client("autoscaling", aws),
            "describe_auto_scaling_groups",
            AutoScalingGroupNames=[name],
        )
        groups = page["AutoScalingGroups"]
        if not groups or "LaunchTemplate" not in groups[0]:
            raise ActionError(f"{kind} on {_resource(aws, name)}: no such group using a launch template")
        template = groups[0]["LaunchTemplate"]
        return {"launch_template_id": template["LaunchTemplateId"], "version": str(template["Version"])}

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str:
        name = spec["asg_name"]
        response = aws_call(
            kind,
            _resource(aws, name),
            client("autoscaling", aws),
            "update_auto_scaling_group",
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": value["launch_template_id"], "Version": value["version"]},
        )
        return request_id(response)


STORE = RegionalStore(AsgLaunchTemplate())


def plan_asg_rollback(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    regions: list[str] | None = None,
    to_version: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan moving the service's groups in ``regions`` (default: all) to ``to_version``, or to
    the newest template version older than the one in use (``$Latest``/``$Default`` resolved)."""
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.asg_name is not None, "an Auto Scaling group")
    params: JsonDict = {"regions": {r: {"asg_name": _name(entry.region(r).asg_name)} for r in chosen}}
    before = STORE.read(KIND, aws, params)
    after = {
        r: {**before[r], "version": to_version or _previous(aws.in_region(r), before[r])} for r in chosen
    }
    changes = ", ".join(f"{r} v{before[r]['version']}→v{after[r]['version']}" for r in chosen)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[_resource(aws.in_region(r), params["regions"][r]["asg_name"]) for r in chosen],
        before=before,
        after=after,
        blast_radius=capacity_share(entry, before, after),
        summary=f"Roll back Auto Scaling groups of {service}/{environment}: {changes}",
        params=params,
    )


def _name(asg_name: str | None) -> str:
    if asg_name is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no Auto Scaling group in the catalog")
    return asg_name


def _resource(aws: AwsTarget, name: str) -> str:
    return f"autoscaling:{aws.region}:{name}"


def _previous(aws: AwsTarget, current: dict[str, str]) -> str:
    ec2 = client("ec2", aws)
    template = current["launch_template_id"]
    in_use = aws_call(
        KIND,
        template,
        ec2,
        "describe_launch_template_versions",
        LaunchTemplateId=template,
        Versions=[current["version"]],
    )
    number = int(in_use["LaunchTemplateVersions"][0]["VersionNumber"])
    versions = aws_call(KIND, template, ec2, "describe_launch_template_versions", LaunchTemplateId=template)
    older = [
        int(v["VersionNumber"]) for v in versions["LaunchTemplateVersions"] if v["VersionNumber"] < number
    ]
    if not older:
        raise ActionError(f"{KIND}: launch template {template} has no version older than {number}")
    return str(max(older))
