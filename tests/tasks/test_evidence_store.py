"""store_evidence / load_evidence against versioned (and unversioned) S3 buckets in moto."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.evidence import ChangeEvent, Datapoint, EvidenceBundle, RegionEvidence, SourceError
from tasks.evidence_store import EvidenceStoreError, load_evidence, store_evidence

REGION = "eu-west-1"
AWS = AwsTarget(region=REGION)
ONSET = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def bundle(collected_minutes: int = 5) -> EvidenceBundle:
    return EvidenceBundle(
        service="checkout",
        environment="prod",
        onset=ONSET,
        window_start=ONSET - timedelta(minutes=30),
        collected_at=ONSET + timedelta(minutes=collected_minutes),
        regions={
            REGION: RegionEvidence(region=REGION, metrics={"error_rate": [Datapoint(at=ONSET, value=12.0)]})
        },
        changes=[
            ChangeEvent(
                kind="flag",
                region=REGION,
                resource="/f",
                at=ONSET,
                summary="on -> off",
                before="on",
                after="off",
            )
        ],
        source_errors=[SourceError(source="cloudtrail", region=REGION, error="NotImplementedError")],
    )


@pytest.fixture
def s3() -> Iterator[object]:
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        s3 = client("s3", AwsTarget(region=REGION))
        for name in ("evidence", "plain"):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket="evidence", VersioningConfiguration={"Status": "Enabled"})
        yield s3
    clear_client_cache()


def test_stored_bundle_reads_back_by_version(s3: object) -> None:
    first = store_evidence.fn(bundle(), bucket="evidence", key_prefix="incidents/INC-42/", aws=AWS)
    raw = client("s3", AwsTarget(region=REGION))
    obj = raw.get_object(
        Bucket="evidence", Key=first.uri.removeprefix("s3://evidence/"), VersionId=first.version_id
    )
    assert obj["VersionId"] == first.version_id and obj["ContentType"] == "application/json"
    body = obj["Body"].read()
    assert EvidenceBundle.model_validate_json(body) == bundle()
    assert first.sha256 == hashlib.sha256(body).hexdigest() == obj["Metadata"]["sha256"]
    assert (
        first.uri
        == "s3://evidence/incidents/INC-42/checkout/prod/20261124T030000+0000--20261124T030500000000+0000.json"
    )
    assert load_evidence(first.uri, first.version_id, aws=AWS) == bundle()


def test_each_snapshot_is_its_own_object(s3: object) -> None:
    a = store_evidence.fn(bundle(5), bucket="evidence", key_prefix="", aws=AWS)
    b = store_evidence.fn(bundle(6), bucket="evidence", key_prefix="", aws=AWS)
    assert a.uri != b.uri and a.uri.startswith("s3://evidence/checkout/prod/")
    versions = client("s3", AwsTarget(region=REGION)).list_object_versions(Bucket="evidence")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([a.version_id, b.version_id])


def test_unversioned_bucket_is_refused_and_nothing_written(s3: object) -> None:
    with pytest.raises(EvidenceStoreError, match="versioning is off"):
        store_evidence.fn(bundle(), bucket="plain", key_prefix="x", aws=AWS)
    assert client("s3", AwsTarget(region=REGION)).list_objects_v2(Bucket="plain").get("KeyCount") == 0


def test_missing_bucket_and_bad_uris_are_evidence_store_errors(s3: object) -> None:
    with pytest.raises(EvidenceStoreError, match="no-such-bucket"):
        store_evidence.fn(bundle(), bucket="no-such-bucket", key_prefix="x", aws=AWS)
    with pytest.raises(EvidenceStoreError, match="not an s3://"):
        load_evidence("https://evidence/x.json", "v1", aws=AWS)
    with pytest.raises(EvidenceStoreError, match="cannot read"):
        load_evidence("s3://evidence/missing.json", "v1", aws=AWS)


def test_object_that_is_not_a_bundle_is_refused(s3: object) -> None:
    raw = client("s3", AwsTarget(region=REGION))
    version = raw.put_object(Bucket="evidence", Key="junk.json", Body=b'{"service": 1}')["VersionId"]
    with pytest.raises(EvidenceStoreError, match="not an evidence bundle"):
        load_evidence("s3://evidence/junk.json", version, aws=AWS)
