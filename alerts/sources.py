"""The sources Firebreak accepts, and the parser of each: the one dispatch table.

Parsing here does not check signatures; the receiver authenticates first (see
:mod:`alerts.auth`). The CLI uses :func:`parse_payload` directly to show what a recorded
payload would become.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from alerts.alertmanager import parse_alertmanager
from alerts.errors import UnknownSourceError
from alerts.eventbridge import parse_eventbridge
from alerts.generic import parse_generic
from alerts.pagerduty import parse_pagerduty
from alerts.payload import ParseResult
from alerts.routing import Routing, route
from alerts.sns import parse_cloudwatch


class Source(StrEnum):
    """Where a payload comes from; also the last segment of the receiver's URL."""

    CLOUDWATCH = "cloudwatch"  # CloudWatch alarm via an SNS HTTP(S) subscription
    EVENTBRIDGE = "eventbridge"
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"
    GENERIC = "generic"


PARSERS: dict[Source, Callable[[bytes | str], ParseResult]] = {
    Source.CLOUDWATCH: parse_cloudwatch,
    Source.EVENTBRIDGE: parse_eventbridge,
    Source.ALERTMANAGER: parse_alertmanager,
    Source.PAGERDUTY: parse_pagerduty,
    Source.GENERIC: parse_generic,
}


def source_named(name: str) -> Source:
    """The Source called ``name``, or an UnknownSourceError listing the known ones."""
    try:
        return Source(name)
    except ValueError:
        known = ", ".join(s.value for s in Source)
        raise UnknownSourceError(f"unknown alert source {name!r} (known: {known})") from None


def parse_payload(source: Source, body: bytes | str, routing: Routing) -> ParseResult:
    """Parse ``body`` as ``source`` and route every alert it yields."""
    result = PARSERS[source](body)
    return result.model_copy(update={"alerts": [route(a, routing) for a in result.alerts]})
