"""Deployment sources of a snapshot: what runs now, what ran before it, and what changed.

"A deploy shortly before onset" is the most common incident cause, so each source reports
the live release (for a rollback to act on), what ran before it (tasks.deploy_history: the
resource's CloudTrail release events, then ECS's draining deployments; never "the previous
number", which may never have been deployed) and the changes it can date:

- ECS: the PRIMARY deployment created in the window, or the CloudTrail call that set the
  running task definition in the window (moto never updates ``deployments[]``, so the service's
  own ``taskDefinition`` is read, which is the same thing on AWS).
- Lambda: the alias' version, dated by the CloudTrail call that set it or, without one, by
  that version's ``LastModified`` (its publish time: the API keeps no alias update time).
- ASG: the launch template version in use, dated by the call that set it or its ``CreateTime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import RegionResources
from tasks.deploy_history import (
    History,
    asg_key,
    ecs_key,
    lambda_key,
    previous_release,
    read_history,
    release_fields,
    same_task_definition,
)
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
    history = read_history(aws, ecs_key(res.ecs.cluster, res.ecs.service), until=window.end)
    draining = [d.task_definition for d in deployments if d.status != "PRIMARY"]
    previous = previous_release(current, trail=history.trail, draining=draining, same=same_task_definition)
    if previous is not None and not previous.value.startswith("arn:"):  # a call named it family:N
        named = call(ecs, "describe_task_definition", taskDefinition=previous.value)["taskDefinition"]
        previous = previous.model_copy(update={"value": str(named["taskDefinitionArn"])})
    state = EcsState(
        cluster=res.ecs.cluster,
        service=res.ecs.service,
        task_definition=current,
        previous_task_definition=previous.value if previous else None,
        desired=svc.get("desiredCount", 0),
        running=svc.get("runningCount", 0),
        pending=svc.get("pendingCount", 0),
        deployments=deployments,
    )
    release = release_fields(current, history, previous, same_task_definition)
    return Found(ecs=state, changes=_ecs_changes(state, aws.region, window, release))


def _ecs_changes(state: EcsState, region: str, window: Window, release: dict[str, Any]) -> list[ChangeEvent]:
    changes = []
    for d in state.deployments:
        primary = d.status == "PRIMARY"
        at = release["write"].at if primary and release["write"] else d.created_at
        if at is None or not window.holds(at):
            continue
        fields = release if primary else {}
        before = fields.get("before")
        was = f" (was {_revision(before)})" if before else ""
        changes.append(
            ChangeEvent(
                kind="ecs.deploy",
                region=region,
                resource=f"{state.cluster}/{state.service}",
                at=at.astimezone(UTC),
                summary=f"{d.status} deployment of {_revision(d.task_definition)}{was}, "
                f"rollout {d.rollout_state or 'unknown'}",
                after=d.task_definition,
                **fields,
            )
        )
    return changes


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
    history = read_history(aws, lambda_key(function, alias_name), until=window.end)
    previous = previous_release(version, trail=history.trail)
    state = LambdaState(
        function=function,
        alias=alias_name,
        version=version,
        previous_version=previous.value if previous else None,
        version_modified_at=published.get(version),
        additional_weights=weights,
    )
    release = release_fields(version, history, previous)
    changes = []
    for live in [version, *weights]:
        at = release["write"].at if live == version and release["write"] else published.get(live)
        if at is None or not window.holds(at):
            continue
        share = f"{weights[live]:.0%} of " if live in weights else ""
        fields = release if live == version else {"before": version}
        changes.append(
            ChangeEvent(
                kind="lambda.alias",
                region=aws.region,
                resource=f"{function}:{alias_name}",
                at=at,
                summary=f"alias {alias_name} sends {share}traffic to version {live}",
                after=live,
                **fields,
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
    if not versions:
        return []
    number = str(versions[0]["VersionNumber"])
    history: History = read_history(aws, asg_key(asg), until=window.end)
    previous = previous_release(number, trail=history.trail)
    release = release_fields(number, history, previous)
    at = release["write"].at if release["write"] else versions[0]["CreateTime"]
    if not window.holds(at):
        return []
    name = versions[0].get("LaunchTemplateName", "?")
    return [
        ChangeEvent(
            kind="asg.launch_template",
            region=aws.region,
            resource=asg,
            at=at.astimezone(UTC),
            summary=f"ASG {asg} uses launch template {name} version {number}",
            after=number,
            **release,
        )
    ]
