"""CloudWatch's SNS alarm messages name the region for people ("EU (Ireland)"); actions need the
code ("eu-west-1"). This table maps one to the other, including the older "EU (...)" names that
CloudWatch still writes for European regions.
"""

from __future__ import annotations

import re

_DISPLAY_NAMES: dict[str, str] = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Africa (Cape Town)": "af-south-1",
    "Asia Pacific (Hong Kong)": "ap-east-1",
    "Asia Pacific (Taipei)": "ap-east-2",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Asia Pacific (Hyderabad)": "ap-south-2",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Osaka)": "ap-northeast-3",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Jakarta)": "ap-southeast-3",
    "Asia Pacific (Melbourne)": "ap-southeast-4",
    "Asia Pacific (Malaysia)": "ap-southeast-5",
    "Asia Pacific (New Zealand)": "ap-southeast-6",
    "Asia Pacific (Thailand)": "ap-southeast-7",
    "Canada (Central)": "ca-central-1",
    "Canada West (Calgary)": "ca-west-1",
    "Europe (Frankfurt)": "eu-central-1",
    "Europe (Zurich)": "eu-central-2",
    "Europe (Ireland)": "eu-west-1",
    "Europe (London)": "eu-west-2",
    "Europe (Paris)": "eu-west-3",
    "Europe (Milan)": "eu-south-1",
    "Europe (Spain)": "eu-south-2",
    "Europe (Stockholm)": "eu-north-1",
    "Israel (Tel Aviv)": "il-central-1",
    "Mexico (Central)": "mx-central-1",
    "Middle East (Bahrain)": "me-south-1",
    "Middle East (UAE)": "me-central-1",
    "South America (Sao Paulo)": "sa-east-1",
    "AWS GovCloud (US-East)": "us-gov-east-1",
    "AWS GovCloud (US-West)": "us-gov-west-1",
    "China (Beijing)": "cn-north-1",
    "China (Ningxia)": "cn-northwest-1",
}

_BY_KEY = {name.casefold(): code for name, code in _DISPLAY_NAMES.items()}
_CODE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def region_code(display_name: str) -> str | None:
    """The region code for a CloudWatch display name, or None when it is unknown.

    >>> region_code("EU (Ireland)"), region_code("US East (N. Virginia)"), region_code("eu-west-1")
    ('eu-west-1', 'us-east-1', 'eu-west-1')
    """
    name = display_name.strip()
    if _CODE.match(name):
        return name
    key = name.replace("São", "Sao").casefold()
    if key.startswith("eu ("):
        key = "europe (" + key[len("eu (") :]
    return _BY_KEY.get(key)


def region_from_arn(arn: str | None) -> str | None:
    """The region field of an ARN (``arn:aws:cloudwatch:eu-west-1:...``), if it has one."""
    if not arn:
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and _CODE.match(parts[3]) else None
