"""Route 53: the hosted zone (by the catalog's ``zone_name``) and one weighted record per region,
equal weights, each pointing at its region's load balancer (or a regional name without one)."""

from __future__ import annotations

from drills.seed_region import deployer_client
from drills.world.errors import WorldError
from tasks.aws import AwsTarget
from tasks.catalog import Route53Weighted

WEIGHT = 100


def create_weighted_records(
    target: AwsTarget, record: Route53Weighted, endpoints: dict[str, str], *, field: str
) -> None:
    """``endpoints``: region -> the DNS name its record points to."""
    if not record.zone_name:
        raise WorldError(
            f"{field}.zone_id", "the sandbox cannot create a zone with a given id; name it (zone_name)"
        )
    if record.record_type != "CNAME":
        raise WorldError(
            f"{field}.record_type", f"the sandbox builds CNAME records, not {record.record_type}"
        )
    route53 = deployer_client("route53", target)
    zone_name = record.zone_name if record.zone_name.endswith(".") else f"{record.zone_name}."
    zones = [
        z
        for z in route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
        if z["Name"] == zone_name
    ]
    zone = (
        zones[0]
        if zones
        else route53.create_hosted_zone(Name=zone_name, CallerReference=zone_name)["HostedZone"]
    )
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": record.record_name,
                "Type": "CNAME",
                "SetIdentifier": identifier,
                "Weight": WEIGHT,
                "TTL": 60,
                "ResourceRecords": [{"Value": endpoints[region]}],
            },
        }
        for region, identifier in record.set_identifiers.items()
    ]
    route53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={"Changes": changes})
