"""``traffic.shift.route53``: move traffic between regions with Route 53 weighted records.

State shape: ``{region: weight}`` for the service's weighted record set, one record per region
(told apart by SetIdentifier, as listed in the catalog). Apply UPSERTs every changed record in
one change batch, so the whole split changes atomically; the records keep their TTL, values,
alias target and health check.
"""

from __future__ import annotations

from typing import Any

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import Catalog, CatalogError, Route53Weighted
from tasks.location import Location
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call
from tasks.weights import blast_radius, check_weights, describe, shift_away, step_toward

KIND = "traffic.shift.route53"
IAM_ACTIONS = ("route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets")
MAX_WEIGHT = 255


class Route53Weights:
    """Reads and UPSERTs the weights of one weighted record set."""

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        record = Route53Weighted.model_validate(params["record"])
        return {region: rr["Weight"] for region, rr in _records(aws, record).items()}

    def write(self, plan: Plan) -> list[str]:
        record = Route53Weighted.model_validate(plan.params["record"])
        current = _records(plan.aws, record)
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": {**current[region], "Weight": weight}}
            for region, weight in sorted(plan.after.items())
            if current[region]["Weight"] != weight
        ]
        response = aws_call(
            KIND,
            _resource(record),
            client("route53", plan.aws),
            "change_resource_record_sets",
            HostedZoneId=record.zone_id,
            ChangeBatch={"Comment": f"firebreak plan {plan.hash}", "Changes": changes},
        )
        return [request_id(response)]


def plan_route53_shift(
    *,
    catalog: Catalog,
    service: str,
    environment: str,
    away_from: str | None = None,
    weights: dict[str, int] | None = None,
    step: int | None = None,
    aws: AwsTarget,
) -> Plan:
    """Plan a weight change: drain ``away_from``, or move toward explicit ``weights``.

    Give exactly one of ``away_from`` / ``weights``. ``step`` caps the weight points moved by
    this plan (recovery calls it repeatedly until the target is reached).
    """
    record = _catalogued(catalog, service, environment)
    if (away_from is None) == (weights is None):
        raise ActionError(f"{KIND}: give exactly one of away_from or weights")
    requested = [away_from] if away_from is not None else list(weights or {})
    unknown = sorted(set(requested) - set(record.set_identifiers))
    if unknown:
        raise CatalogError(f"{service}/{environment}: no Route 53 record for regions {unknown}")
    location = locate(catalog, service, environment, aws)
    params: JsonDict = {**location.params, "step": step}
    before: dict[str, int] = Route53Weights().read(KIND, aws, params)
    if away_from is not None:
        after = shift_away(before, away_from, step)
    else:
        after = step_toward(before, weights or {}, step)
    check_weights(after, max_weight=MAX_WEIGHT, what=f"{KIND} {service}/{environment}")
    radius = blast_radius(before, after)
    return Plan(
        kind=KIND,
        service=service,
        environment=environment,
        aws=aws,
        targets=location.targets,
        before=before,
        after=after,
        blast_radius=radius,
        summary=f"Route 53 {record.record_name}: {describe(before, after)} ({radius:.0%} of traffic moves)",
        params=params,
    )


def locate(catalog: Catalog, service: str, environment: str, aws: AwsTarget) -> Location:
    """The catalogued weighted record set: one target per SetIdentifier, the record in params,
    the regions as the state's keys (Route 53 is global: ``aws`` is not used)."""
    record = _catalogued(catalog, service, environment)
    return Location(
        targets=[f"{_resource(record)}/{sid}" for _, sid in sorted(record.set_identifiers.items())],
        params={"record": record.model_dump(mode="json")},
        state_keys=frozenset(record.set_identifiers),
    )


def _catalogued(catalog: Catalog, service: str, environment: str) -> Route53Weighted:
    record = catalog.entry(service, environment).route53
    if record is None:
        raise CatalogError(f"{service}/{environment} has no route53 weighted record in the catalog")
    return record


def _resource(record: Route53Weighted) -> str:
    return f"route53:{record.zone_id}/{record.record_name}/{record.record_type}"


def _records(aws: AwsTarget, record: Route53Weighted) -> dict[str, dict[str, Any]]:
    """The weighted records of the set, keyed by region; every catalogued region must exist."""
    r53 = client("route53", aws)
    name = record.record_name.rstrip(".") + "."
    by_set_id: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"StartRecordName": name, "StartRecordType": record.record_type}
    while True:
        page = aws_call(
            KIND, _resource(record), r53, "list_resource_record_sets", HostedZoneId=record.zone_id, **kwargs
        )
        for rr in page["ResourceRecordSets"]:
            if rr["Name"] == name and rr["Type"] == record.record_type and "SetIdentifier" in rr:
                by_set_id[rr["SetIdentifier"]] = rr
        if not page.get("IsTruncated") or page.get("NextRecordName") != name:
            break
        kwargs = {
            "StartRecordName": page["NextRecordName"],
            "StartRecordType": page["NextRecordType"],
            "StartRecordIdentifier": page.get("NextRecordIdentifier", ""),
        }
    missing = sorted(sid for sid in record.set_identifiers.values() if sid not in by_set_id)
    if missing:
        raise ActionError(f"{KIND} on {_resource(record)}: weighted records {missing} do not exist")
    return {region: by_set_id[sid] for region, sid in record.set_identifiers.items()}
