"""Helpers every parser shares: JSON decoding, model validation with field-naming errors,
sender timestamps, and the result type of a parse.

Parsers validate the sender's payload with small pydantic models (extra fields ignored, so a
sender adding fields never breaks intake) and turn a ``ValidationError`` into an
:class:`AlertParseError` that names the first offending field, e.g. ``alerts[2].labels``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alerts.errors import AlertParseError
from alerts.models import Alert


def _sender_time(value: object) -> object:
    # CloudWatch writes "+0000" and Alertmanager nanoseconds; fromisoformat reads both, pydantic does not.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_sender_time)]
"""A timezone-aware timestamp as senders write them ("Z", "+0000", fractional seconds)."""


class Payload(BaseModel):
    """Base of sender payload models: unknown fields ignored, aliases accepted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class ParseResult(BaseModel):
    """What one payload yields: alerts to act on, parts deliberately not acted on, and for SNS the
    subscription URL to confirm."""

    model_config = ConfigDict(frozen=True)

    alerts: list[Alert] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list, description="Why parts start no incident.")
    subscribe_url: str | None = Field(default=None, description="SNS SubscriptionConfirmation only.")


M = TypeVar("M", bound=BaseModel)

MAX_NESTING = 64
"""The deepest JSON intake accepts. Real alerts nest a few levels; a deeper body is refused
before it is decoded, so nothing downstream (validation, dead letters, Prefect parameters)
meets recursion."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deeply ``text``'s JSON arrays and objects nest (brackets inside strings do not count).

    >>> nesting_depth('{"a": [1, "[["]}')
    2
    """
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(body: bytes | str, source: str, field: str = "body") -> Any:
    """Decode a request body (or an embedded JSON string), or say why it is not JSON.

    A body nested deeper than :data:`MAX_NESTING` is refused before it is decoded.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as e:
        raise AlertParseError(source, field, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    if nesting_depth(text) > MAX_NESTING:
        raise AlertParseError(source, field, f"JSON nested deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AlertParseError(source, field, f"not valid JSON: {e.msg} at line {e.lineno}") from e
    except RecursionError as e:
        raise AlertParseError(source, field, "JSON nested too deeply") from e


def validate(model: type[M], data: Any, source: str, where: str = "") -> M:
    """Validate ``data`` as ``model``; the error names the field path, prefixed by ``where``."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise AlertParseError(source, path.lstrip(".") or "(top level)", first["msg"]) from e
    except RecursionError as e:
        raise AlertParseError(source, where or "(top level)", "nested too deeply") from e
