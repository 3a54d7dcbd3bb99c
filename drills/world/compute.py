"""ECS services (cluster, task-definition revision, service) and Auto Scaling groups (launch
template, instances), each behind the region's live target group when it has one."""

from __future__ import annotations

from drills.seed_region import AMI, deployer_client
from drills.world.names import CONTAINER_PORT, DESIRED_COUNT, image
from drills.world.network import Network
from tasks.aws import AwsTarget
from tasks.catalog import Capacity, EcsService


def register_revision(target: AwsTarget, ecs: EcsService, image_name: str, log_group: str | None) -> str:
    """Register a new revision of the service's task definition (family = service name)."""
    container: dict[str, object] = {
        "name": ecs.service,
        "image": image_name,
        "memory": 512,
        "portMappings": [{"containerPort": CONTAINER_PORT}],
    }
    if log_group:
        container["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": target.region},
        }
    registered = deployer_client("ecs", target).register_task_definition(
        family=ecs.service, containerDefinitions=[container]
    )
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def create_ecs_service(
    target: AwsTarget, ecs: EcsService, group_arn: str | None, log_group: str | None
) -> None:
    """The cluster (shared when several services name it) and the service on revision 1."""
    client = deployer_client("ecs", target)
    client.create_cluster(clusterName=ecs.cluster)
    revision = register_revision(target, ecs, image(ecs.service), log_group)
    balancers = (
        [{"targetGroupArn": group_arn, "containerName": ecs.service, "containerPort": CONTAINER_PORT}]
        if group_arn
        else []
    )
    client.create_service(
        cluster=ecs.cluster,
        serviceName=ecs.service,
        taskDefinition=revision,
        desiredCount=DESIRED_COUNT,
        loadBalancers=balancers,
    )


def create_asg(
    target: AwsTarget, name: str, network: Network, group_arn: str | None, capacity: Capacity | None = None
) -> None:
    """A launch template named after the group (version 1) and the group's instances; room up
    to the catalog's ``capacity.max`` (else twice the seeded size)."""
    deployer_client("ec2", target).create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.medium"}
    )
    deployer_client("autoscaling", target).create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": name, "Version": "1"},
        MinSize=DESIRED_COUNT,
        MaxSize=max(capacity.max, DESIRED_COUNT) if capacity else 2 * DESIRED_COUNT,
        DesiredCapacity=DESIRED_COUNT,
        VPCZoneIdentifier=",".join(network.subnets),
        TargetGroupARNs=[group_arn] if group_arn else [],
    )
