"""Seed the sandbox with the ``checkout`` service and return the catalog that describes it.

The catalog is built from what the AWS calls returned (ARNs, zone id), never from guesses, so
a drill acts on exactly the resources that exist, the way production catalogs should.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from drills import seed_names as n
from drills.seed_region import deployer_client, seed_region
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, FlagStore, Route53Weighted, ServiceEnvironment, ServiceMetric

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def seed_checkout(endpoint_url: str) -> Catalog:
    """Create ``checkout``/``prod`` in both regions at ``endpoint_url``; its validated catalog.

    >>> catalog = seed_checkout(sandbox.endpoint_url)
    >>> catalog.entry("checkout", "prod").primary_region
    'eu-west-1'
    """
    primary = AwsTarget(region=n.PRIMARY_REGION, endpoint_url=endpoint_url)
    role_arn = _lambda_role(primary)
    regions = {region: seed_region(primary.in_region(region), role_arn) for region in n.REGIONS}
    entry = ServiceEnvironment(
        primary_region=n.PRIMARY_REGION,
        regions=regions,
        route53=_route53(primary),
        flags=_flags(primary),
        sns_topic_arn=deployer_client("sns", primary).create_topic(Name=n.TOPIC)["TopicArn"],
        evidence_bucket=_evidence_bucket(primary),
        service_metric=ServiceMetric(
            name="user_error_rate",
            namespace=n.NAMESPACE,
            metric_name=n.ERROR_RATE,
            dimensions={n.SERVICE_DIMENSION: n.SERVICE},
            period_seconds=n.METRIC_PERIOD_SECONDS,
            healthy_threshold=5.0,
        ),
    )
    return Catalog(services={n.SERVICE: {n.ENVIRONMENT: entry}})


def write_catalog(catalog: Catalog, path: Path) -> Path:
    """Write ``catalog`` as YAML that ``tasks.catalog.load_catalog`` reads back unchanged."""
    path.write_text(yaml.safe_dump(catalog.model_dump(mode="json"), sort_keys=False))
    return path


def _lambda_role(target: AwsTarget) -> str:
    # IAM is global: one role serves both regions' functions (moto checks that it exists).
    role = deployer_client("iam", target).create_role(
        RoleName=n.LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )
    return str(role["Role"]["Arn"])


def _route53(target: AwsTarget) -> Route53Weighted:
    route53 = deployer_client("route53", target)
    zone = route53.create_hosted_zone(Name=n.ZONE_NAME, CallerReference=f"firebreak-{n.SERVICE}")
    zone_id = str(zone["HostedZone"]["Id"]).removeprefix("/hostedzone/")
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": n.RECORD_NAME,
                "Type": "CNAME",
                "SetIdentifier": region,
                "Weight": 50,
                "TTL": 60,
                "ResourceRecords": [{"Value": _alb_dns(target.in_region(region))}],
            },
        }
        for region in n.REGIONS
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return Route53Weighted(
        zone_id=zone_id, record_name=n.RECORD_NAME, set_identifiers={region: region for region in n.REGIONS}
    )


def _alb_dns(target: AwsTarget) -> str:
    balancers = deployer_client("elbv2", target).describe_load_balancers(Names=[n.ALB])["LoadBalancers"]
    return str(balancers[0]["DNSName"])


def _flags(target: AwsTarget) -> FlagStore:
    ssm = deployer_client("ssm", target)
    for flag, parameter in n.FLAG_PARAMETERS.items():
        version = ssm.put_parameter(Name=parameter, Value=n.FLAG_DEFAULTS[flag], Type="String")["Version"]
        ssm.label_parameter_version(Name=parameter, ParameterVersion=version, Labels=[n.KNOWN_GOOD_LABEL])
    return FlagStore(region=target.region, flags=dict(n.FLAG_PARAMETERS))


def _evidence_bucket(target: AwsTarget) -> str:
    s3 = deployer_client("s3", target)
    s3.create_bucket(
        Bucket=n.EVIDENCE_BUCKET, CreateBucketConfiguration={"LocationConstraint": target.region}
    )
    s3.put_bucket_versioning(Bucket=n.EVIDENCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return n.EVIDENCE_BUCKET
