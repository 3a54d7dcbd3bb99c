"""Incident records in the evidence bucket: report, timeline, metrics and chart of each incident.

Records live next to the incident's evidence bundles, one folder per incident:
``s3://<bucket>/<incident id>/<name>`` (``report.json``, ``timeline.json``, ...), so the
history reads the same records wherever Firebreak runs. The bucket must be versioned, as for
evidence: a re-run rewrites a record and every earlier version stays readable. Metadata travels
with each object (the timeline's chain head), and a record is read back by name, newest version.
"""

from __future__ import annotations

import logging
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from tasks.aws import AwsTarget, call, client
from tasks.catalog import MetricSpec
from tasks.evidence import Datapoint
from tasks.metrics import MetricReadError, read_metrics

logger = logging.getLogger(__name__)

INCIDENT_PREFIX = "INC-"  # incident ids (flows.incident_run.incident_id_for)
RECORD_PREFIXES = (INCIDENT_PREFIX, "RUN-")  # and the runbooks' manual ids (flows.runbooks)
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class IncidentRecordError(RuntimeError):
    """A record could not be written, listed or read; the message names the object and why."""


class StoredRecord(BaseModel):
    """One record object: where it is, which version, and its metadata."""

    model_config = ConfigDict(frozen=True)

    uri: str
    version_id: str
    metadata: dict[str, str] = Field(default_factory=dict)


class RecordObject(StoredRecord):
    body: bytes


def record_key(incident_id: str, name: str) -> str:
    return f"{incident_id}/{name}"


def put_incident_record(
    *, bucket: str, incident_id: str, name: str, body: bytes, content_type: str, metadata: dict[str, str],
    aws: AwsTarget,
) -> StoredRecord:  # fmt: skip
    """Write one record; refused (IncidentRecordError) when the bucket is not versioned."""
    check_versioned(bucket=bucket, aws=aws)
    return store_incident_record(
        bucket=bucket, incident_id=incident_id, name=name, body=body, content_type=content_type,
        metadata=metadata, aws=aws,
    )  # fmt: skip


def check_versioned(*, bucket: str, aws: AwsTarget) -> None:
    """IncidentRecordError unless ``bucket`` is versioned: a re-run rewrites records, and every
    earlier version must stay readable."""
    try:
        status = call(client("s3", aws), "get_bucket_versioning", Bucket=bucket).get("Status")
    except (ClientError, BotoCoreError) as e:
        raise IncidentRecordError(f"s3://{bucket}: cannot read its versioning: {e}") from e
    if status != "Enabled":
        raise IncidentRecordError(f"s3://{bucket}: versioning is {status or 'off'}; records need it")


def store_incident_record(
    *, bucket: str, incident_id: str, name: str, body: bytes, content_type: str, metadata: dict[str, str],
    aws: AwsTarget,
) -> StoredRecord:  # fmt: skip
    """Write one record to a bucket already checked by :func:`check_versioned`."""
    s3 = client("s3", aws)
    key = record_key(incident_id, name)
    try:
        logger.info("storing %s record %s at s3://%s/%s", incident_id, name, bucket, key)
        response = call(
            s3, "put_object", Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata
        )
    except (ClientError, BotoCoreError) as e:
        raise IncidentRecordError(f"s3://{bucket}/{key}: cannot store: {e}") from e
    return StoredRecord(uri=f"s3://{bucket}/{key}", version_id=str(response["VersionId"]), metadata=metadata)


def get_incident_record(*, bucket: str, incident_id: str, name: str, aws: AwsTarget) -> RecordObject | None:
    """The newest version of one record, or None when the incident has no such record."""
    key = record_key(incident_id, name)
    try:
        found = call(client("s3", aws), "get_object", Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise IncidentRecordError(f"s3://{bucket}/{key}: cannot read: {e}") from e
    except BotoCoreError as e:
        raise IncidentRecordError(f"s3://{bucket}/{key}: cannot read: {e}") from e
    return RecordObject(
        uri=f"s3://{bucket}/{key}",
        version_id=str(found.get("VersionId", "")),
        metadata=dict(found.get("Metadata", {})),
        body=found["Body"].read(),
    )


def list_incident_ids(*, bucket: str, aws: AwsTarget) -> list[str]:
    """Every incident folder in the bucket, runbooks' included, sorted (ids sort by onset)."""
    s3 = client("s3", aws)
    found: list[str] = []
    try:
        for prefix in RECORD_PREFIXES:
            kwargs: dict[str, str] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
            while True:
                page = call(s3, "list_objects_v2", **kwargs)
                found += [p["Prefix"].rstrip("/") for p in page.get("CommonPrefixes", [])]
                if not page.get("IsTruncated"):
                    break
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
    except (ClientError, BotoCoreError) as e:
        raise IncidentRecordError(f"s3://{bucket}: cannot list incidents: {e}") from e
    return sorted(found)


def read_series(spec: MetricSpec, *, aws: AwsTarget, start: datetime, end: datetime) -> list[Datapoint]:
    """One metric's datapoints over an incident, for its record; IncidentRecordError if unreadable."""
    try:
        return read_metrics([spec], aws=aws, start=start, end=end)[spec.name]
    except (ClientError, BotoCoreError, MetricReadError) as e:
        raise IncidentRecordError(f"{spec.name} in {aws.region}: cannot read for the record: {e}") from e


def list_record_versions(*, bucket: str, incident_id: str, name: str, aws: AwsTarget) -> list[StoredRecord]:
    """Every stored version of one record with its metadata, oldest first (one HEAD request per
    version). In a versioned bucket an overwrite adds a version and keeps the old one, so the
    heads recorded in older versions' metadata are still there to compare with the newest."""
    s3 = client("s3", aws)
    key = record_key(incident_id, name)
    kwargs: dict[str, str] = {"Bucket": bucket, "Prefix": key}
    versions: list[dict[str, object]] = []
    try:
        while True:
            page = call(s3, "list_object_versions", **kwargs)
            versions += [v for v in page.get("Versions", []) if v["Key"] == key]
            if not page.get("IsTruncated"):
                break
            kwargs["KeyMarker"], kwargs["VersionIdMarker"] = (
                page["NextKeyMarker"],
                page["NextVersionIdMarker"],
            )
        found = []
        for v in reversed(versions):  # S3 lists a key's versions newest first
            head = call(s3, "head_object", Bucket=bucket, Key=key, VersionId=v["VersionId"])
            found.append(
                StoredRecord(
                    uri=f"s3://{bucket}/{key}",
                    version_id=str(v["VersionId"]),
                    metadata=dict(head.get("Metadata", {})),
                )
            )
    except (ClientError, BotoCoreError) as e:
        raise IncidentRecordError(f"s3://{bucket}/{key}: cannot list its versions: {e}") from e
    return found
