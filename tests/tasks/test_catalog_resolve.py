"""Catalog names in place of AWS-generated ids: the model accepts them, the resolver finds the
ids in moto (and names every field that did not resolve), and the flows' settings resolve."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.settings import RunSettings
from tasks.aws import AwsTarget
from tasks.catalog import AlbListener, CatalogError, load_catalog
from tasks.catalog_resolve import CatalogResolveError, resolve_catalog
from tests.tasks.seed import EAST, raw_client

ZONE = "shop.example.internal."


def _seed_alb() -> tuple[str, list[str]]:
    ec2 = raw_client("ec2", EAST)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{EAST}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    elbv2 = raw_client("elbv2", EAST)
    lb = elbv2.create_load_balancer(Name="shop", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    groups = [
        elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for name in ("shop-blue", "shop-green")
    ]
    forward = {"TargetGroups": [{"TargetGroupArn": groups[0], "Weight": 100}]}
    listener = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "ForwardConfig": forward}],
    )["Listeners"][0]["ListenerArn"]
    return listener, groups


def _catalog_file(tmp_path: Path, *, zone: str = ZONE, lb: str = "shop", port: int = 8080) -> Path:
    data = {
        "services": {
            "shop": {
                "prod": {
                    "primary_region": EAST,
                    "regions": {
                        EAST: {
                            "alb": {
                                "load_balancer": lb,
                                "port": port,
                                "target_groups": ["shop-blue", "shop-green"],
                            }
                        },
                        "eu-west-1": {},
                    },
                    "route53": {
                        "zone_name": zone,
                        "record_name": f"api.{ZONE}",
                        "set_identifiers": {EAST: "east", "eu-west-1": "west"},
                    },
                }
            }
        }
    }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_names_load_without_ids(tmp_path: Path) -> None:
    entry = load_catalog(_catalog_file(tmp_path)).entry("shop", "prod")
    assert entry.route53 is not None and not entry.route53.resolved
    alb = entry.region(EAST).alb
    assert alb is not None and not alb.resolved and alb.target_groups == ["shop-blue", "shop-green"]


@pytest.mark.parametrize(
    "fields",
    [{"load_balancer": "shop", "target_groups": ["a"]}, {"listener_arn": "arn:l"}, {}],
    ids=["no-port", "arn-without-groups", "nothing"],
)
def test_incomplete_alb_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"listener_arn|load_balancer"):
        AlbListener.model_validate(fields)


def test_resolves_zone_listener_and_groups(aws: AwsTarget, tmp_path: Path) -> None:
    zone = raw_client("route53", EAST).create_hosted_zone(Name=ZONE, CallerReference="t")["HostedZone"]["Id"]
    listener, groups = _seed_alb()
    entry = resolve_catalog(load_catalog(_catalog_file(tmp_path)), aws.in_region).entry("shop", "prod")
    assert entry.route53 is not None and entry.route53.zone_id == zone.removeprefix("/hostedzone/")
    assert entry.route53.zone_name == ZONE  # the names stay, for people reading the resolved catalog
    alb = entry.region(EAST).alb
    assert alb is not None and (alb.listener_arn, alb.target_group_arns) == (listener, groups)


def test_every_unresolved_name_is_named(aws: AwsTarget, tmp_path: Path) -> None:
    _seed_alb()
    path = _catalog_file(tmp_path, zone="nowhere.internal", port=443)
    with pytest.raises(CatalogResolveError) as caught:
        resolve_catalog(load_catalog(path), aws.in_region)
    assert caught.value.unresolved == [
        f"services.shop.prod.regions.{EAST}.alb.port: 'shop' has no listener on port 443",
        "services.shop.prod.route53.zone_name: no hosted zone named 'nowhere.internal.'",
    ]
    assert isinstance(caught.value, CatalogError)  # callers that catch catalog errors catch it


def test_unknown_load_balancer_is_named(aws: AwsTarget, tmp_path: Path) -> None:
    raw_client("route53", EAST).create_hosted_zone(Name=ZONE, CallerReference="t")
    with pytest.raises(
        CatalogResolveError, match=r"regions\.us-east-1\.alb\.load_balancer: no load balancer"
    ):
        resolve_catalog(load_catalog(_catalog_file(tmp_path, lb="nope")), aws.in_region)


def test_run_settings_resolve_the_catalog(
    aws: AwsTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw_client("route53", EAST).create_hosted_zone(Name=ZONE, CallerReference="t")
    listener, _ = _seed_alb()
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(_catalog_file(tmp_path)))  # the host's catalog
    settings = RunSettings()
    alb = settings.catalog().entry("shop", "prod").region(EAST).alb
    assert alb is not None and alb.listener_arn == listener
