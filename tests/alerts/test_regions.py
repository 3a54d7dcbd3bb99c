from __future__ import annotations

import pytest

from alerts.regions import region_code, region_from_arn


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("EU (Ireland)", "eu-west-1"),
        ("Europe (Ireland)", "eu-west-1"),
        ("EU (Frankfurt)", "eu-central-1"),
        ("US East (N. Virginia)", "us-east-1"),
        ("us west (oregon)", "us-west-2"),
        ("South America (São Paulo)", "sa-east-1"),
        ("Asia Pacific (Tokyo)", "ap-northeast-1"),
        ("AWS GovCloud (US-West)", "us-gov-west-1"),
        ("eu-west-1", "eu-west-1"),
        ("Atlantis (Central)", None),
        ("", None),
    ],
)
def test_region_code(name: str, code: str | None) -> None:
    assert region_code(name) == code


def test_region_from_arn() -> None:
    assert region_from_arn("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x") == "eu-west-1"
    assert region_from_arn("arn:aws:iam::123456789012:role/x") is None
    assert region_from_arn(None) is None
