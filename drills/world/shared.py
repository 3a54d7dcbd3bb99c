"""What a service environment shares across regions: its SNS topic and its evidence bucket."""

from __future__ import annotations

from drills.seed_region import deployer_client
from drills.world.errors import WorldError
from tasks.aws import AwsTarget


def create_topic(target: AwsTarget, arn: str, *, field: str) -> str:
    """The topic the catalog's ARN names, in the ARN's region; its ARN as SNS returns it."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sns":
        raise WorldError(field, f"not an SNS topic ARN: {arn!r}")
    return str(deployer_client("sns", target.in_region(parts[3])).create_topic(Name=parts[5])["TopicArn"])


def create_evidence_bucket(target: AwsTarget, bucket: str) -> None:
    """A versioned bucket (evidence storing refuses an unversioned one)."""
    s3 = deployer_client("s3", target)
    config = (
        {}
        if target.region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": target.region}}
    )
    s3.create_bucket(Bucket=bucket, **config)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
