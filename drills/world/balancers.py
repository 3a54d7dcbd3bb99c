"""ALB listeners with weighted target groups, built from the names a catalog gives.

The first target group takes all the weight (the live one), the others none (idle, as between
deploys). Target groups hold instances when the region runs ECS or an ASG, else the Lambda
alias (a Lambda-only service behind an ALB).
"""

from __future__ import annotations

from typing import Any

from drills.seed_region import deployer_client
from drills.world.errors import WorldError
from drills.world.names import CONTAINER_PORT
from drills.world.network import Network
from tasks.aws import AwsTarget
from tasks.catalog import AlbListener


def create_listener(
    alb: AlbListener, target: AwsTarget, network: Network, *, lambda_targets: bool, field: str
) -> list[str]:
    """Create (or reuse) the load balancer, its target groups and the listener; the groups' ARNs."""
    if not alb.load_balancer or not alb.port:
        raise WorldError(
            f"{field}.listener_arn",
            "the sandbox cannot create a listener with a given ARN; "
            "name it (load_balancer, port, target_groups)",
        )
    elbv2 = deployer_client("elbv2", target)
    lb_arn = _load_balancer(elbv2, alb.load_balancer, network)
    groups = [
        _target_group(elbv2, name, network, lambda_targets=lambda_targets) for name in alb.target_groups
    ]
    weights = [{"TargetGroupArn": arn, "Weight": 100 if i == 0 else 0} for i, arn in enumerate(groups)]
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=alb.port,
        DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": weights}}],
    )
    return groups


def load_balancer_dns(target: AwsTarget, name: str) -> str:
    balancers = deployer_client("elbv2", target).describe_load_balancers(Names=[name])["LoadBalancers"]
    return str(balancers[0]["DNSName"])


def register_lambda(target: AwsTarget, group_arn: str, alias_arn: str) -> None:
    """Put the Lambda alias behind ``group_arn`` (a ``lambda`` target group)."""
    deployer_client("elbv2", target).register_targets(TargetGroupArn=group_arn, Targets=[{"Id": alias_arn}])


def _load_balancer(elbv2: Any, name: str, network: Network) -> str:
    existing = [
        b["LoadBalancerArn"]
        for b in elbv2.describe_load_balancers()["LoadBalancers"]
        if b["LoadBalancerName"] == name
    ]
    if existing:  # several services may share one load balancer, each on its own port
        return str(existing[0])
    created = elbv2.create_load_balancer(Name=name, Subnets=network.subnets, Type="application")
    return str(created["LoadBalancers"][0]["LoadBalancerArn"])


def _target_group(elbv2: Any, name: str, network: Network, *, lambda_targets: bool) -> str:
    if lambda_targets:
        created = elbv2.create_target_group(Name=name, TargetType="lambda")
    else:
        created = elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=CONTAINER_PORT, VpcId=network.vpc_id, TargetType="instance"
        )
    return str(created["TargetGroups"][0]["TargetGroupArn"])
