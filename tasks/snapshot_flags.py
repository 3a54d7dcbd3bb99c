"""Flag source of a snapshot: every feature-flag value change in the window.

"A flag flipped shortly before onset" is the second most common suspect after a deploy. The
flags live in one region's SSM Parameter Store (the catalog's flag store), whose parameter
history keeps each value with its ``LastModifiedDate``; a change is a version whose value
differs from the one before it (re-writing the same value is not a change).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import FlagStore, FlagStoreKind
from tasks.evidence import ChangeEvent
from tasks.snapshot_sources import Found, SnapshotSourceError, Window


def flag_source(store: FlagStore, aws: AwsTarget, window: Window) -> Found:
    """Every flag value change in the window, from the SSM parameter history."""
    if store.kind is not FlagStoreKind.SSM:
        raise SnapshotSourceError("flag history is read from SSM only; AppConfig keeps no usable history")
    ssm = client("ssm", aws)
    changes = []
    for flag, parameter in store.flags.items():
        previous: str | None = None
        kwargs: dict[str, Any] = {"Name": parameter, "MaxResults": 50}
        while True:
            page = call(ssm, "get_parameter_history", **kwargs)
            for version in page["Parameters"]:
                value, at = version["Value"], version["LastModifiedDate"].astimezone(UTC)
                if value != previous and window.holds(at):
                    changes.append(
                        ChangeEvent(
                            kind="flag",
                            region=aws.region,
                            resource=parameter,
                            at=at,
                            summary=f"flag {flag}: {previous!r} -> {value!r}"
                            if previous
                            else f"flag {flag} set to {value!r}",
                            before=previous,
                            after=value,
                        )
                    )
                previous = value
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return Found(changes=changes)
