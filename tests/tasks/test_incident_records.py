"""Incident records in a versioned S3 bucket (moto): written, listed and read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.catalog import MetricSpec
from tasks.incident_records import (
    IncidentRecordError,
    get_incident_record,
    list_incident_ids,
    put_incident_record,
    read_series,
)

REGION = "eu-west-1"
AWS = AwsTarget(region=REGION)


@pytest.fixture
def s3() -> Iterator[Any]:
    clear_client_cache()
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        s3 = client("s3", AWS)
        for name in ("evidence", "plain"):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket="evidence", VersioningConfiguration={"Status": "Enabled"})
        yield s3
    clear_client_cache()


def _put(incident_id: str, name: str, body: bytes, bucket: str = "evidence", **meta: str) -> str:
    return put_incident_record(
        bucket=bucket,
        incident_id=incident_id,
        name=name,
        body=body,
        content_type="application/json",
        metadata=meta,
        aws=AWS,
    ).version_id


def test_a_rewritten_record_keeps_its_earlier_version_and_metadata(s3: Any) -> None:
    first = _put("INC-1", "timeline.json", b'{"v": 1}', chain_head="aa", chain_length="3")
    second = _put("INC-1", "timeline.json", b'{"v": 2}', chain_head="bb", chain_length="4")
    newest = get_incident_record(bucket="evidence", incident_id="INC-1", name="timeline.json", aws=AWS)
    assert newest is not None
    assert (newest.body, newest.version_id, newest.metadata) == (
        b'{"v": 2}',
        second,
        {"chain_head": "bb", "chain_length": "4"},
    )
    old = s3.get_object(Bucket="evidence", Key="INC-1/timeline.json", VersionId=first)
    assert (old["Body"].read(), old["Metadata"]) == (b'{"v": 1}', {"chain_head": "aa", "chain_length": "3"})


def test_incidents_are_listed_from_their_folders_and_a_missing_record_is_none(s3: Any) -> None:
    for incident_id in ("INC-2", "INC-1", "INC-3"):
        _put(incident_id, "report.json", b"{}")
    s3.put_object(Bucket="evidence", Key="INC-3/checkout/prod/bundle.json", Body=b"{}")
    s3.put_object(Bucket="evidence", Key="other/thing.json", Body=b"{}")
    assert list_incident_ids(bucket="evidence", aws=AWS) == ["INC-1", "INC-2", "INC-3"]
    assert get_incident_record(bucket="evidence", incident_id="INC-9", name="report.json", aws=AWS) is None


def test_an_unversioned_bucket_is_refused_and_nothing_is_written(s3: Any) -> None:
    with pytest.raises(IncidentRecordError, match="versioning is off"):
        _put("INC-1", "report.json", b"{}", bucket="plain")
    assert s3.list_objects_v2(Bucket="plain").get("KeyCount") == 0


def test_read_series_reads_the_incident_metric(s3: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cloudwatch = client("cloudwatch", AWS)
    for seconds, value in ((-120, 0.5), (-60, 9.0)):
        cloudwatch.put_metric_data(
            Namespace="App",
            MetricData=[
                {"MetricName": "Errors", "Value": value, "Timestamp": now + timedelta(seconds=seconds)}
            ],
        )
    spec = MetricSpec(name="error_rate", namespace="App", metric_name="Errors", healthy_threshold=1.0)
    points = read_series(spec, aws=AWS, start=now - timedelta(minutes=5), end=now)
    assert [p.value for p in points] == [0.5, 9.0]
