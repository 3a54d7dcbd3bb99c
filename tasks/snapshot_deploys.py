"""Deployment sources of a snapshot: what runs now, and what changed in the window.

"A deploy shortly before onset" is the most common incident cause, so each source reports
the live revision (for a rollback to act on) and the changes it can date:

- ECS: every deployment created in the window. The PRIMARY deployment runs the service's
  current task definition (moto never updates ``deployments[]``, so the service's own
  ``taskDefinition`` is read, which is the same thing on AWS); the rollback target is the next
  lower revision of the family.
- Lambda: the alias' version and, as its date, that version's ``LastModified`` (its publish
  time: the API keeps no alias update time; CloudTrail does).
- ASG: the launch template version in use and its ``CreateTime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import RegionResources
from tasks.evidence import AsgState, ChangeEvent, EcsDeployment, EcsState, LambdaState
from tasks.snapshot_sources import Found, SnapshotSourceError, Window


def ecs_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    if res.ecs is None:
        return Found()
    ecs = client("ecs", aws)
    described = call(ecs, "describe_services", cluster=res.ecs.cluster, services=[res.ecs.service])
    if not described["services"]:
        raise SnapshotSourceError(f"ECS service {res.ecs.cluster}/{res.ecs.service} not found")
    svc = described["services"][0]
    # AWS returns an ARN here; moto echoes whatever update_service was given: canonicalise.
    task_def = call(ecs, "describe_task_definition", taskDefinition=svc["taskDefinition"])["taskDefinition"]
    current = str(task_def["taskDefinitionArn"])
    deployments = [
        EcsDeployment(
            id=d["id"],
            status=d["status"],
            task_definition=current if d["status"] == "PRIMARY" else d["taskDefinition"],
            created_at=d.get("createdAt"),
            rollout_state=d.get("rolloutState"),
        )
        for d in svc.get("deployments", [])
    ]
    state = EcsState(
        cluster=res.ecs.cluster,
        service=res.ecs.service,
        task_definition=current,
        previous_task_definition=_previous_revision(ecs, task_def["family"], int(task_def["revision"])),
        desired=svc.get("desiredCount", 0),
        running=svc.get("runningCount", 0),
        pending=svc.get("pendingCount", 0),
        deployments=deployments,
    )
    return Found(ecs=state, changes=_ecs_changes(state, aws.region, window))


def _ecs_changes(state: EcsState, region: str, window: Window) -> list[ChangeEvent]:
    draining = [d.task_definition for d in state.deployments if d.status != "PRIMARY"]
    changes = []
    for d in state.deployments:
        if d.created_at is None or not window.holds(d.created_at):
            continue
        before = (
            (draining[0] if draining else state.previous_task_definition) if d.status == "PRIMARY" else None
        )
        was = f" (was {_revision(before)})" if before else ""
        changes.append(
            ChangeEvent(
                kind="ecs.deploy",
                region=region,
                resource=f"{state.cluster}/{state.service}",
                at=d.created_at.astimezone(UTC),
                summary=f"{d.status} deployment of {_revision(d.task_definition)}{was}, "
                f"rollout {d.rollout_state or 'unknown'}",
                before=before,
                after=d.task_definition,
            )
        )
    return changes


def _previous_revision(ecs: Any, family: str, revision: int) -> str | None:
    """The highest active revision of ``family`` below ``revision``: the rollback target."""
    kwargs: dict[str, Any] = {"familyPrefix": family, "sort": "DESC", "status": "ACTIVE"}
    while True:
        page = call(ecs, "list_task_definitions", **kwargs)
        for arn in page["taskDefinitionArns"]:
            fam, rev = _revision(arn).rsplit(":", 1)
            if fam == family and int(rev) < revision:
                return str(arn)
        if not page.get("nextToken"):
            return None
        kwargs["nextToken"] = page["nextToken"]


def _revision(task_definition: str) -> str:
    """``family:revision`` of a task definition ARN (or of ``family:revision`` itself)."""
    return task_definition.rsplit("/", 1)[-1]


def lambda_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    if res.lambda_alias is None:
        return Found()
    function, alias_name = res.lambda_alias.function, res.lambda_alias.alias
    lam = client("lambda", aws)
    alias = call(lam, "get_alias", FunctionName=function, Name=alias_name)
    weights = {
        v: float(w) for v, w in alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}).items()
    }
    published = _version_times(lam, function)
    version = alias["FunctionVersion"]
    numbered = sorted(int(v) for v in published if v.isdigit())
    lower = [v for v in numbered if version.isdigit() and v < int(version)]
    state = LambdaState(
        function=function,
        alias=alias_name,
        version=version,
        previous_version=str(lower[-1]) if lower else None,
        version_modified_at=published.get(version),
        additional_weights=weights,
    )
    changes = []
    for live in [version, *weights]:
        at = published.get(live)
        if at is None or not window.holds(at):
            continue
        share = f"{weights[live]:.0%} of " if live in weights else ""
        changes.append(
            ChangeEvent(
                kind="lambda.alias",
                region=aws.region,
                resource=f"{function}:{alias_name}",
                at=at,
                summary=f"alias {alias_name} sends {share}traffic to version {live}, published in window",
                before=state.previous_version if live == version else version,
                after=live,
            )
        )
    return Found(lambda_alias=state, changes=changes)


def _version_times(lam: Any, function: str) -> dict[str, datetime]:
    times: dict[str, datetime] = {}
    kwargs: dict[str, Any] = {"FunctionName": function}
    while True:
        page = call(lam, "list_versions_by_function", **kwargs)
        for v in page["Versions"]:
            # AWS: 2024-01-01T00:00:00.000+0000; moto: nanoseconds and Z. fromisoformat takes both.
            times[v["Version"]] = datetime.fromisoformat(v["LastModified"]).astimezone(UTC)
        if not page.get("NextMarker"):
            return times
        kwargs["Marker"] = page["NextMarker"]


def asg_source(res: RegionResources, aws: AwsTarget, window: Window) -> Found:
    if res.asg_name is None:
        return Found()
    groups = call(
        client("autoscaling", aws), "describe_auto_scaling_groups", AutoScalingGroupNames=[res.asg_name]
    )
    if not groups["AutoScalingGroups"]:
        raise SnapshotSourceError(f"auto scaling group {res.asg_name} not found")
    group = groups["AutoScalingGroups"][0]
    template = group.get("LaunchTemplate") or group.get("MixedInstancesPolicy", {}).get(
        "LaunchTemplate", {}
    ).get("LaunchTemplateSpecification")
    instances = group.get("Instances", [])
    state = AsgState(
        name=res.asg_name,
        launch_template=(template or {}).get("LaunchTemplateName")
        or (template or {}).get("LaunchTemplateId"),
        launch_template_version=(template or {}).get("Version"),
        desired=group["DesiredCapacity"],
        min_size=group["MinSize"],
        max_size=group["MaxSize"],
        instances=len(instances),
        healthy_in_service=sum(
            i.get("HealthStatus") == "Healthy" and i.get("LifecycleState") == "InService" for i in instances
        ),
    )
    changes = _template_change(template, res.asg_name, aws, window) if template else []
    return Found(asg=state, changes=changes)


def _template_change(template: dict[str, Any], asg: str, aws: AwsTarget, window: Window) -> list[ChangeEvent]:
    ref = (
        {"LaunchTemplateId": template["LaunchTemplateId"]}
        if "LaunchTemplateId" in template
        else {"LaunchTemplateName": template["LaunchTemplateName"]}
    )
    versions = call(
        client("ec2", aws),
        "describe_launch_template_versions",
        Versions=[template.get("Version", "$Default")],
        **ref,
    )["LaunchTemplateVersions"]
    if not versions or not window.holds(versions[0]["CreateTime"]):
        return []
    number = int(versions[0]["VersionNumber"])
    name = versions[0].get("LaunchTemplateName", "?")
    return [
        ChangeEvent(
            kind="asg.launch_template",
            region=aws.region,
            resource=asg,
            at=versions[0]["CreateTime"].astimezone(UTC),
            summary=f"ASG {asg} uses launch template {name} version {number}, created in window",
            before=str(number - 1) if number > 1 else None,
            after=str(number),
        )
    ]
