"""Helpers every parser shares: JSON decoding, model validation with field-naming errors,
sender timestamps, and the result type of a parse.

Parsers validate the sender's payload with small pydantic models (extra fields ignored, so a
sender adding fields never breaks intake) and turn a ``ValidationError`` into an
:class:`AlertParseError` that names the first offending field, e.g. ``alerts[2].labels``.
"""

from __future__ import annotations

import json
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


def load_json(body: bytes | str, source: str, field: str = "body") -> Any:
    """Decode a request body (or an embedded JSON string), or say why it is not JSON."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as e:
        raise AlertParseError(source, field, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
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
