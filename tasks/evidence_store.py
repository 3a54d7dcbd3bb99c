"""Keep evidence bundles durably: JSON objects in a versioned S3 bucket.

The bundle is what an approval and a postmortem rest on, so it must not be silently
replaced: the bucket must have versioning enabled (ideally with object lock), and every
stored bundle is addressed by its URI *and* version id. A bucket without versioning is
refused rather than written to, because an overwrite there would destroy evidence.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.aws import AwsTarget, call, client
from tasks.evidence import EvidenceBundle

logger = logging.getLogger(__name__)


class EvidenceStoreError(RuntimeError):
    """Evidence could not be stored or loaded; the message says which object and why."""


class StoredEvidence(BaseModel):
    """Where a bundle was written: enough to read exactly this version back."""

    model_config = ConfigDict(frozen=True)

    uri: str
    version_id: str
    sha256: str = Field(description="SHA-256 of the stored body: what the audit trail cites.")


def evidence_key(bundle: EvidenceBundle, key_prefix: str) -> str:
    """``<prefix>/<service>/<environment>/<onset>--<collected>.json``: sortable, one per snapshot."""
    onset = f"{bundle.onset:%Y%m%dT%H%M%S%z}"
    collected = f"{bundle.collected_at:%Y%m%dT%H%M%S%f%z}"
    prefix = key_prefix.strip("/")
    name = f"{bundle.service}/{bundle.environment}/{onset}--{collected}.json"
    return f"{prefix}/{name}" if prefix else name


@task(name="store-evidence", cache_policy=NO_CACHE)
def store_evidence(bundle: EvidenceBundle, *, bucket: str, key_prefix: str, aws: AwsTarget) -> StoredEvidence:
    """Write ``bundle`` as JSON to ``s3://bucket/<key>`` and return its URI and version id.

    Raises EvidenceStoreError if the bucket's versioning is not Enabled (or cannot be read).
    """
    s3 = client("s3", aws)
    try:
        status = call(s3, "get_bucket_versioning", Bucket=bucket).get("Status")
    except (ClientError, BotoCoreError) as e:
        raise EvidenceStoreError(f"s3://{bucket}: cannot read versioning: {e}") from e
    if status != "Enabled":
        raise EvidenceStoreError(
            f"s3://{bucket}: versioning is {status or 'off'}; evidence needs a versioned bucket"
        )
    key = evidence_key(bundle, key_prefix)
    body = bundle.model_dump_json(indent=1).encode()
    digest = hashlib.sha256(body).hexdigest()
    logger.info("storing evidence for %s/%s at s3://%s/%s", bundle.service, bundle.environment, bucket, key)
    try:
        response = call(
            s3,
            "put_object",
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            Metadata={"sha256": digest},
        )
    except (ClientError, BotoCoreError) as e:
        raise EvidenceStoreError(f"s3://{bucket}/{key}: cannot store evidence: {e}") from e
    return StoredEvidence(uri=f"s3://{bucket}/{key}", version_id=str(response["VersionId"]), sha256=digest)


def load_evidence(uri: str, version_id: str, *, aws: AwsTarget) -> EvidenceBundle:
    """Read back exactly the stored version of a bundle (for reports and postmortems)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise EvidenceStoreError(f"{uri!r} is not an s3://bucket/key URI")
    try:
        body = call(
            client("s3", aws),
            "get_object",
            Bucket=parsed.netloc,
            Key=parsed.path.lstrip("/"),
            VersionId=version_id,
        )["Body"].read()
    except (ClientError, BotoCoreError) as e:
        raise EvidenceStoreError(f"{uri} (version {version_id}): cannot read: {e}") from e
    try:
        return EvidenceBundle.model_validate_json(body)
    except ValidationError as e:
        raise EvidenceStoreError(f"{uri} (version {version_id}) is not an evidence bundle: {e}") from e
