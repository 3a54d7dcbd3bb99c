"""The network a region's stack needs: one VPC with two subnets, made once per region."""

from __future__ import annotations

from dataclasses import dataclass

from drills.seed_region import deployer_client
from tasks.aws import AwsTarget


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: list[str]


def create_network(target: AwsTarget) -> Network:
    """A VPC and a subnet in each of the region's first two availability zones."""
    ec2 = deployer_client("ec2", target)
    vpc_id: str = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{target.region}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return Network(vpc_id=vpc_id, subnets=subnets)
