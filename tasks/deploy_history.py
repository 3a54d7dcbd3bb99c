"""What ran before a change: a resource's release history, and the choice of what to go back to.

"The newest revision older than the current one" is wrong whenever a revision was registered
and never deployed (a staging build, a skipped one). What ran before is in the history of the
resource's *deployments*, which this module reads in the order a careful engineer trusts it:

1. **CloudTrail** write events for the resource (``UpdateService``/``CreateService``,
   ``UpdateAlias``/``CreateAlias``, ``UpdateAutoScalingGroup``/``CreateAutoScalingGroup``): the
   request parameters say what each call set, and the event before the one that set the blamed
   release says what ran before it.
2. **The service's own deployment records**, where AWS keeps them: an ECS service lists its
   ACTIVE (draining) deployments next to the PRIMARY one; the draining one ran before.
3. **Firebreak's own records**: what earlier incidents observed running or set (their plans'
   before and after), older than the change.

Parsing and the choice are pure (:func:`releases`, :func:`previous_release`); the one AWS call
is :func:`lookup_write_events`. Every answer names its source and says what it is based on.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws import AwsTarget, call, client
from tasks.evidence import PreviousRelease, ReleaseSource, WriteEvent

HISTORY = timedelta(days=30)
MAX_PAGES = 5  # 250 events of one resource, newest first: the blamed deploy and the one before
PAGE_SIZE = 50


@dataclass(frozen=True)
class ReleaseKey:
    """Which resource's releases to read from CloudTrail, and how its calls name it."""

    resource: str  # what ChangeEvents call it, e.g. "checkout-prod/checkout"
    lookup_name: str  # the CloudTrail ResourceName looked up
    events: tuple[str, ...]  # the event names that set a release
    matches: Callable[[dict[str, Any]], bool]  # do these request parameters name the resource?
    value: Callable[[dict[str, Any]], str | None]  # the release they set


def ecs_key(cluster: str, service: str) -> ReleaseKey:
    """UpdateService/CreateService of ``cluster/service``; the value is the task definition."""
    return ReleaseKey(
        resource=f"{cluster}/{service}",
        lookup_name=service,
        events=("UpdateService", "CreateService"),
        matches=lambda p: (
            _names(p.get("service") or p.get("serviceName"), service)
            and _names(p.get("cluster") or "default", cluster)
        ),
        value=lambda p: p.get("taskDefinition"),
    )


def lambda_key(function: str, alias: str) -> ReleaseKey:
    """UpdateAlias/CreateAlias of ``function:alias``; the value is the alias' version."""
    return ReleaseKey(
        resource=f"{function}:{alias}",
        lookup_name=function,
        events=("UpdateAlias", "CreateAlias"),
        matches=lambda p: _names(p.get("functionName"), function) and p.get("name") == alias,
        value=lambda p: p.get("functionVersion"),
    )


def asg_key(group: str) -> ReleaseKey:
    """UpdateAutoScalingGroup/CreateAutoScalingGroup of ``group``; the value is the template version."""
    return ReleaseKey(
        resource=group,
        lookup_name=group,
        events=("UpdateAutoScalingGroup", "CreateAutoScalingGroup"),
        matches=lambda p: p.get("autoScalingGroupName") == group,
        value=lambda p: (p.get("launchTemplate") or {}).get("version"),
    )


def lookup_write_events(aws: AwsTarget, key: ReleaseKey, *, until: datetime) -> list[dict[str, Any]]:
    """CloudTrail's events naming ``key.lookup_name`` in the :data:`HISTORY` before ``until``,
    newest first (LookupEvents pages, at most :data:`MAX_PAGES`). Raises ClientError/BotoCoreError."""
    trail = client("cloudtrail", aws)
    kwargs: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": key.lookup_name}],
        "StartTime": until - HISTORY,
        "EndTime": until,
        "MaxResults": PAGE_SIZE,
    }
    events: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = call(trail, "lookup_events", **kwargs)
        events += page.get("Events", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return events


@dataclass(frozen=True)
class History:
    """A resource's release events from CloudTrail, newest first, or why they could not be read."""

    resource: str
    trail: list[WriteEvent]
    error: str | None = None

    def setter(self, current: str, same: Callable[[str, str], bool] = operator.eq) -> WriteEvent | None:
        """The newest call that set ``current``: the change being looked at."""
        return next((w for w in self.trail if same(w.value, current)), None)

    def is_creation(self, current: str, same: Callable[[str, str], bool] = operator.eq) -> bool:
        """True when ``current`` was set by creating the resource: nothing ran before it."""
        setter = self.setter(current, same)
        return setter is not None and setter.event_name.startswith("Create")

    def unknown(self, current: str, same: Callable[[str, str], bool] = operator.eq) -> str:
        """What is known when no source says what ran before ``current``, for a human."""
        setter = self.setter(current, same)
        if setter is not None and self.is_creation(current, same):
            return (
                f"{self.resource} was created on {current} ({setter.event_name} by {setter.caller} at "
                f"{setter.at:%Y-%m-%d %H:%M:%S}Z): nothing ran before it"
            )
        trail = (
            self.error or f"CloudTrail has {len(self.trail)} release event(s) of it, none before {current}"
        )
        return (
            f"no record says what ran before {current} on {self.resource} ({trail}; no draining deployment)"
        )


def read_history(aws: AwsTarget, key: ReleaseKey, *, until: datetime) -> History:
    """:func:`lookup_write_events` parsed by :func:`releases`; a CloudTrail that cannot be read
    (denied, missing: moto without the sandbox's gap fill) is an error line, never "no history"."""
    try:
        return History(key.resource, releases(lookup_write_events(aws, key, until=until), key))
    except (ClientError, BotoCoreError, NotImplementedError) as e:
        return History(key.resource, [], error=f"CloudTrail could not be read: {type(e).__name__}: {e}")


def release_fields(
    current: str,
    history: History,
    previous: PreviousRelease | None,
    same: Callable[[str, str], bool] = operator.eq,
) -> dict[str, Any]:
    """The ChangeEvent fields of a release change: before and its source, the call that made it,
    and (when nothing says what ran before and it was no creation) what is known."""
    unknown = previous is None and not history.is_creation(current, same)
    return {
        "before": previous.value if previous else None,
        "before_source": previous,
        "history": history.unknown(current, same) if unknown else None,
        "write": history.setter(current, same),
    }


def releases(events: Iterable[dict[str, Any]], key: ReleaseKey) -> list[WriteEvent]:
    """The write events of ``key``'s resource that set a release, newest first (pure).

    ``events`` are LookupEvents entries (``CloudTrailEvent`` is the JSON record).
    """
    found = []
    for event in events:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
        params = record.get("requestParameters") or {}
        value = key.value(params) if record.get("eventName") in key.events and key.matches(params) else None
        if value is None or record.get("errorCode"):
            continue
        identity = record.get("userIdentity") or {}
        found.append(
            WriteEvent(
                event_name=record["eventName"],
                at=datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")).astimezone(UTC),
                resource=key.resource,
                value=str(value),
                request_id=record.get("requestID") or "",
                caller=identity.get("arn") or identity.get("userName") or "unknown",
                user_agent=record.get("userAgent") or "",
            )
        )
    return sorted(found, key=lambda w: w.at, reverse=True)


def previous_release(
    current: str,
    *,
    trail: Sequence[WriteEvent] = (),
    draining: Sequence[str] = (),
    observed: Sequence[tuple[datetime, str, str]] = (),
    before: datetime | None = None,
    same: Callable[[str, str], bool] = operator.eq,
) -> PreviousRelease | None:
    """What ran before ``current`` went live, from the first source that knows; None if none does.

    ``trail``: CloudTrail releases, newest first (:func:`releases`). ``draining``: releases the
    service's deployment records show still draining. ``observed``: ``(at, value, where)`` from
    Firebreak's records; only those older than ``before`` (the change's time) count.
    ``same`` compares releases (``checkout:2`` and its ARN are the same task definition).
    """
    blamed = next((i for i, w in enumerate(trail) if same(w.value, current)), None)
    if blamed is not None:
        ran = next((w for w in trail[blamed + 1 :] if not same(w.value, current)), None)
        if ran is not None:
            setter = trail[blamed]
            return PreviousRelease(
                value=ran.value,
                source=ReleaseSource.CLOUDTRAIL,
                detail=f"CloudTrail: {ran.event_name} by {ran.caller} at {ran.at:%Y-%m-%d %H:%M:%S}Z set "
                f"{ran.value}, before {setter.event_name} by {setter.caller} at {setter.at:%H:%M:%S}Z "
                f"set {setter.value}",
            )
    old = next((d for d in draining if not same(d, current)), None)
    if old is not None:
        return PreviousRelease(
            value=old, source=ReleaseSource.DEPLOYMENTS, detail=f"deployment records: {old} is draining"
        )
    for at, value, where in observed:
        if (before is None or at < before) and not same(value, current):
            return PreviousRelease(
                value=value,
                source=ReleaseSource.SNAPSHOTS,
                detail=f"Firebreak's records: {value} was live at {at:%Y-%m-%d %H:%M:%S}Z ({where})",
            )
    return None


def same_task_definition(a: str, b: str) -> bool:
    """``checkout:2``, ``task-definition/checkout:2`` and the full ARN name the same revision."""
    return a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def _names(given: Any, name: str) -> bool:
    """``given`` is ``name`` or an ARN ending in ``/name`` or ``:name``."""
    return isinstance(given, str) and (given == name or given.endswith((f"/{name}", f":{name}")))
