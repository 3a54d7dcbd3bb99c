"""``rollback.asg``: put an Auto Scaling group back on the launch-template version that ran before,
and replace its instances with an instance refresh.

State shape: ``{region: {"launch_template_id": ..., "version": "N", "instances_on_version": bool}}``
where ``instances_on_version`` says whether every InService instance runs ``version``. Pointing
the group at the old version changes only what new instances launch with; the apply therefore
takes two steps per region: set the version, then start an instance refresh and wait for it
(at most :data:`REFRESH_TIMEOUT_SECONDS`). Verify reads back the version *and* the instances.
A second apply changes nothing; an apply interrupted after the first step refreshes only; a
group without InService instances needs no refresh. A refresh that fails puts the version back.
Regions are rolled back one after another and undone on failure (tasks.rollback_regional): the
undo is the same two steps towards ``before``.

The target is the caller's or what the group's CloudTrail history says it launched before
(tasks.deploy_history); never "the previous number". The version must exist.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError
from tasks.deploy_history import asg_key, previous_release, read_history
from tasks.plan import ActionError, JsonDict, Plan
from tasks.rollback_regional import (
    InactiveReleaseError,
    NoKnownGoodReleaseError,
    RegionalStore,
    capacity_share,
    pick_regions,
)
from tasks.steps import Step, aws_call, run_steps

KIND = "rollback.asg"
IAM_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:UpdateAutoScalingGroup",
    "autoscaling:StartInstanceRefresh",
    "autoscaling:DescribeInstanceRefreshes",
    "ec2:DescribeLaunchTemplateVersions",
    # UpdateAutoScalingGroup with a launch template is authorised as launching from it.
    "ec2:RunInstances",
    "cloudtrail:LookupEvents",
)
REFRESH_TIMEOUT_SECONDS = 1800.0
REFRESH_POLL_SECONDS = 5.0
REFRESH_FAILED = frozenset({"Failed", "Cancelled", "Cancelling", "RollbackSuccessful", "RollbackFailed"})


class InstanceRefreshError(ActionError):
    """The instance refresh failed, was cancelled, or did not finish in time."""


class AsgLaunchTemplate:
    """The launch template version an Auto Scaling group launches, and whether its instances run it."""

    def read_region(self, kind: str, aws: AwsTarget, spec: JsonDict) -> Any:
        group = _group(kind, aws, spec["asg_name"])
        template = group["LaunchTemplate"]
        version = _number(kind, aws, template["LaunchTemplateId"], str(template["Version"]))
        serving = [i for i in group.get("Instances", []) if i.get("LifecycleState") == "InService"]
        return {
            "launch_template_id": template["LaunchTemplateId"],
            "version": str(template["Version"]),
            "instances_on_version": all(
                _number(
                    kind, aws, template["LaunchTemplateId"], str(i.get("LaunchTemplate", {}).get("Version"))
                )
                == version
                for i in serving
            ),
        }

    def write_region(self, kind: str, aws: AwsTarget, spec: JsonDict, value: Any) -> str:
        """Set the version, then refresh and wait; the request ids of what was called."""
        return ", ".join(run_steps(kind, _steps(kind, aws, spec["asg_name"], value)))


def _steps(kind: str, aws: AwsTarget, name: str, value: JsonDict) -> list[Step]:
    live = AsgLaunchTemplate().read_region(kind, aws, {"asg_name": name})
    serving = [
        i for i in _group(kind, aws, name).get("Instances", []) if i.get("LifecycleState") == "InService"
    ]
    steps = []
    if live["version"] != value["version"]:
        steps.append(
            Step(
                f"{kind} in {aws.region}: version {value['version']}",
                lambda: _set_version(kind, aws, name, value),
                lambda: _set_version(kind, aws, name, live),
            )
        )
    if value["instances_on_version"] and serving:
        steps.append(
            Step(f"{kind} in {aws.region}: instance refresh", lambda: _refresh(kind, aws, name), None)
        )
    return steps


STORE = RegionalStore(AsgLaunchTemplate())


def plan_asg_rollback(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    regions: list[str] | None = None,
    to_version: str | None = None,
    source: str | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan moving the service's groups in ``regions`` (default: all) to ``to_version`` (``source``
    says where the caller found it), or to the version the group launched before (see the
    module docstring), with every instance replaced. Raises NoKnownGoodReleaseError when no
    record says, InactiveReleaseError when the version does not exist."""
    entry = catalog.entry(service, environment)
    chosen = pick_regions(entry, regions, lambda r: r.asg_name is not None, "an Auto Scaling group")
    params: JsonDict = {"regions": {r: {"asg_name": _name(entry.region(r).asg_name)} for r in chosen}}
    before = STORE.read(KIND, aws, params)
    targets = {
        r: _target(aws.in_region(r), params["regions"][r]["asg_name"], before[r], to_version, source)
        for r in chosen
    }
    after = {r: {**before[r], "version": v, "instances_on_version": True} for r, (v, _) in targets.items()}
    changes = ", ".join(
        f"{r} v{before[r]['version']}→v{after[r]['version']} ({targets[r][1]})" for r in chosen
    )
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=[_resource(aws.in_region(r), params["regions"][r]["asg_name"]) for r in chosen],
        before=before,
        after=after,
        blast_radius=capacity_share(entry, before, after),
        summary=f"Roll back Auto Scaling groups of {service}/{environment}: {changes}; then an instance "
        f"refresh per group, waited for (at most {REFRESH_TIMEOUT_SECONDS:.0f} s)",
        params={
            **params,
            "target_source": {r: t[1] for r, t in targets.items()},
            "steps": ["update_auto_scaling_group(LaunchTemplate)", "start_instance_refresh", "wait for it"],
        },
    )


def _name(asg_name: str | None) -> str:
    if asg_name is None:  # pick_regions already refused such regions; this narrows the type
        raise CatalogError("region has no Auto Scaling group in the catalog")
    return asg_name


def _resource(aws: AwsTarget, name: str) -> str:
    return f"autoscaling:{aws.region}:{name}"


def _group(kind: str, aws: AwsTarget, name: str) -> dict[str, Any]:
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
    group: dict[str, Any] = groups[0]
    return group


def _number(kind: str, aws: AwsTarget, template: str, version: str) -> int:
    """The number of ``version`` (``$Latest``/``$Default`` resolved); InactiveReleaseError if none."""
    ec2 = client("ec2", aws)
    try:
        found = aws_call(
            kind,
            template,
            ec2,
            "describe_launch_template_versions",
            LaunchTemplateId=template,
            Versions=[version],
        )["LaunchTemplateVersions"]
    except ActionError as e:
        raise InactiveReleaseError(f"{kind}: launch template {template} has no version {version}: {e}") from e
    if not found:
        raise InactiveReleaseError(f"{kind}: launch template {template} has no version {version}")
    return int(found[0]["VersionNumber"])


def _target(
    aws: AwsTarget, name: str, current: JsonDict, to_version: str | None, source: str | None
) -> tuple[str, str]:
    template = current["launch_template_id"]
    if to_version is None:
        number = str(_number(KIND, aws, template, current["version"]))
        history = read_history(aws, asg_key(name), until=datetime.now(UTC))
        found = previous_release(number, trail=history.trail)
        if found is None:
            raise NoKnownGoodReleaseError(f"{KIND} on {_resource(aws, name)}: {history.unknown(number)}")
        to_version, source = found.value, found.detail
    return str(_number(KIND, aws, template, to_version)), source or "named by the caller"


def _set_version(kind: str, aws: AwsTarget, name: str, value: JsonDict) -> str:
    response = aws_call(
        kind,
        _resource(aws, name),
        client("autoscaling", aws),
        "update_auto_scaling_group",
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": value["launch_template_id"], "Version": value["version"]},
    )
    return request_id(response)


def _refresh(kind: str, aws: AwsTarget, name: str) -> str:
    """Start an instance refresh and wait until it is Successful; its request id."""
    autoscaling = client("autoscaling", aws)
    where = _resource(aws, name)
    started = aws_call(kind, where, autoscaling, "start_instance_refresh", AutoScalingGroupName=name)
    refresh = started["InstanceRefreshId"]
    deadline = time.monotonic() + REFRESH_TIMEOUT_SECONDS
    while True:
        found = aws_call(
            kind,
            where,
            autoscaling,
            "describe_instance_refreshes",
            AutoScalingGroupName=name,
            InstanceRefreshIds=[refresh],
        )["InstanceRefreshes"]
        status = found[0]["Status"] if found else "missing"
        if status == "Successful":
            return request_id(started)
        if status in REFRESH_FAILED or status == "missing" or time.monotonic() > deadline:
            raise InstanceRefreshError(f"{kind} on {where}: instance refresh {refresh} is {status}")
        time.sleep(REFRESH_POLL_SECONDS)
