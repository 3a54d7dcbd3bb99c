"""The network a region's stack needs: one VPC with two subnets, made once per region."""

from __future__ import annotations

from dataclasses import dataclass

from drills.seed_region import create_network as seed_network
from tasks.aws import AwsTarget


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: list[str]


def create_network(target: AwsTarget) -> Network:
    """A VPC and a subnet in each of the region's first two availability zones."""
    subnets, vpc_id = seed_network(target)
    return Network(vpc_id=vpc_id, subnets=subnets)
