"""Flag source of a snapshot: every feature-flag value change in the window.

"A flag flipped shortly before onset" is the second most common suspect after a deploy. The
flags live in the catalog's flag store, in one region:

- SSM Parameter Store: the parameter history keeps each value with its ``LastModifiedDate``;
  a change is a version whose value differs from the one before it (re-writing the same value
  is not a change).
- AppConfig: the environment's deployments of the flags profile, in deployment order, each
  naming the hosted configuration version it deployed; a change is a deployment whose version
  sets a flag's ``enabled`` differently from the deployment before it, dated when it started.
  Values are reported as ``on`` / ``off`` like SSM flags, so the diagnosis reads both alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasks.aws import AwsTarget, call, client
from tasks.catalog import FlagStore, FlagStoreKind
from tasks.evidence import ChangeEvent
from tasks.flags_appconfig import NOT_LIVE
from tasks.snapshot_sources import Found, SnapshotSourceError, Window


def flag_source(store: FlagStore, aws: AwsTarget, window: Window) -> Found:
    """Every flag value change in the window, from the SSM parameter history or AppConfig's
    deployments."""
    if store.kind is FlagStoreKind.APPCONFIG:
        deployed = _appconfig_deployments(store, aws, window)
        return Found(changes=appconfig_changes(store, deployed, aws.region, window))
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


@dataclass(frozen=True)
class Deployed:
    """One deployment of the flags profile: when it started and each flag's ``enabled``."""

    started_at: datetime
    enabled: dict[str, bool]


def appconfig_changes(
    store: FlagStore, deployed: list[Deployed], region: str, window: Window
) -> list[ChangeEvent]:
    """The flag changes the deployments made, oldest first (pure: the deployments are read apart)."""
    changes: list[ChangeEvent] = []
    previous: dict[str, bool] = {}
    for deployment in deployed:
        for flag, key in store.flags.items():
            now = deployment.enabled.get(key)
            was = previous.get(key)
            if now is None:
                continue
            if was is not None and now != was and window.holds(deployment.started_at):
                before, after = _on_off(was), _on_off(now)
                changes.append(
                    ChangeEvent(
                        kind="flag",
                        region=region,
                        resource=key,
                        at=deployment.started_at,
                        summary=f"flag {flag}: {before!r} -> {after!r} (AppConfig deployment)",
                        before=before,
                        after=after,
                    )
                )
            previous[key] = now
    return changes


def _on_off(enabled: bool) -> str:
    return "on" if enabled else "off"


def _appconfig_deployments(store: FlagStore, aws: AwsTarget, window: Window) -> list[Deployed]:
    """The profile's live deployments to the environment that started in ``window``, and the
    last one before it (what was on when the window began), oldest first, with their flag
    values. ListDeployments answers newest first ("in descending deployment number order",
    AppConfig API Reference), so paging stops at the first page that reaches before the window:
    the scan and the version reads are bounded by time, not by the environment's history."""
    appconfig = client("appconfig", aws)
    ids = {"ApplicationId": store.appconfig_application}
    profile = call(
        appconfig, "get_configuration_profile", ConfigurationProfileId=store.appconfig_profile, **ids
    )
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"EnvironmentId": store.appconfig_environment, **ids}
    while True:
        page = call(appconfig, "list_deployments", **kwargs)
        items += [
            i
            for i in page.get("Items", [])
            if i.get("ConfigurationName") == profile["Name"] and i.get("State") not in NOT_LIVE
        ]
        if not page.get("NextToken") or any(_started(i) < window.start for i in items):
            break
        kwargs["NextToken"] = page["NextToken"]
    ours = sorted(items, key=lambda i: i["DeploymentNumber"])
    before = [i for i in ours if _started(i) < window.start]
    ours = before[-1:] + [i for i in ours if _started(i) >= window.start]
    return [
        Deployed(started_at=i["StartedAt"].astimezone(UTC), enabled=_enabled_flags(appconfig, store, i))
        for i in ours
    ]


def _started(item: dict[str, Any]) -> datetime:
    started: datetime = item["StartedAt"].astimezone(UTC)
    return started


def _enabled_flags(appconfig: Any, store: FlagStore, deployment: dict[str, Any]) -> dict[str, bool]:
    body = call(
        appconfig,
        "get_hosted_configuration_version",
        ApplicationId=store.appconfig_application,
        ConfigurationProfileId=store.appconfig_profile,
        VersionNumber=int(deployment["ConfigurationVersion"]),
    )["Content"].read()
    try:
        values = json.loads(body).get("values", {})
    except (ValueError, AttributeError) as e:
        raise SnapshotSourceError(
            f"AppConfig version {deployment['ConfigurationVersion']} is not flag JSON"
        ) from e
    return {key: bool(v.get("enabled")) for key, v in values.items() if isinstance(v, dict)}
