"""Payloads intake did not turn into a started incident, kept so that nothing is lost silently.

One JSON file per payload in a directory: when it came, from which source, why it was kept, the
request headers with every credential removed, and the body. A letter whose alert was parsed
but could not be handed to Prefect carries the alert and is ``retryable``: ``firebreak alert
replay`` starts it later. The store is bounded (``max_letters``) so a flood of junk cannot
fill the disk; past the bound, new letters are counted in the log but not written.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from alerts.errors import DeadLetterError
from alerts.models import Alert

log = logging.getLogger(__name__)

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"}
)
_SECRET_WORDS = ("token", "secret", "password", "sig", "key", "auth", "credential")
# A credential-like query parameter inside a kept header value (a proxy's X-Forwarded-Uri, a
# Referer, a presigned URL): the name stays, the value goes.
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;][^=&;#\s]*(?:{})[^=&;#\s]*=)[^&;#\s]*".format(
        "|".join(re.escape(word).replace(r"\-", "[-_]?") for word in _SECRET_WORDS)
    ),
    re.IGNORECASE,
)


class Reason(StrEnum):
    """Why a payload was kept instead of starting an incident."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    MALFORMED = "malformed"
    UNKNOWN_SOURCE = "unknown-source"
    TOO_LARGE = "too-large"
    UNROUTABLE = "unroutable"
    NOT_AN_INCIDENT = "not-an-incident"
    SNS_CONFIRM_FAILED = "sns-confirm-failed"
    PREFECT_UNAVAILABLE = "prefect-unavailable"
    PREFECT_REJECTED = "prefect-rejected"


class DeadLetter(BaseModel):
    """One kept payload."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    received_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    reason: Reason
    detail: str = ""
    retryable: bool = False
    headers: dict[str, str] = Field(default_factory=dict, description="Credentials removed.")
    body: str = ""
    body_encoding: str = Field(default="utf-8", description='"utf-8" or "base64" (not text).')
    alert: Alert | None = Field(default=None, description="The parsed alert, when there was one.")

    def body_bytes(self) -> bytes:
        """The body as received."""
        return base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers without anything that authenticates: safe to write to disk or a log.

    Headers named like a credential (``X-Api-Key``, ``x_auth_token``...) are dropped; in the
    others, credential-like query parameters are blanked (``?token=REDACTED``), because a proxy
    forwards the original URL, query string included, in headers such as ``X-Forwarded-Uri``.
    """
    kept = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _SECRET_HEADERS or any(word in key.replace("_", "-") for word in _SECRET_WORDS):
            continue
        kept[key] = redact_query(value)
    return kept


def redact_query(text: str) -> str:
    """``text`` with the value of every credential-like query parameter blanked.

    >>> redact_query("/alerts/generic?team=web&access_token=s3cr3t")
    '/alerts/generic?team=web&access_token=REDACTED'
    """
    return _SECRET_PARAM.sub(r"\g<name>REDACTED", text)


def letter(
    source: str,
    reason: Reason,
    detail: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    alert: Alert | None = None,
    retryable: bool = False,
) -> DeadLetter:
    """Build a dead letter from a request, redacting its headers and encoding its body."""
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    return DeadLetter(
        source=source,
        reason=reason,
        detail=detail,
        retryable=retryable,
        headers=redact_headers(headers),
        body=text,
        body_encoding=encoding,
        alert=alert,
    )


class DeadLetterStore:
    """A directory of dead letters. Creates the directory on first write, not on construction."""

    def __init__(self, directory: Path, *, max_letters: int = 10_000) -> None:
        self.directory = directory
        self.max_letters = max_letters

    def put(self, dead: DeadLetter) -> Path | None:
        """Write the letter atomically; None (and a warning) when the store is full."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if sum(1 for _ in self.directory.glob("*.json")) >= self.max_letters:
                log.warning("dead-letter store %s is full; dropped %s letter", self.directory, dead.reason)
                return None
            source = re.sub(r"[^a-z0-9-]", "_", dead.source.lower())[:32]
            name = f"{dead.received_at:%Y%m%dT%H%M%S%fZ}-{source}-{dead.reason}-{dead.id[:8]}.json"
            path = self.directory / name
            partial = path.with_suffix(".tmp")
            partial.write_text(dead.model_dump_json(indent=2))
            os.replace(partial, path)
        except OSError as e:
            raise DeadLetterError(f"cannot write dead letter to {self.directory}: {e.strerror}") from e
        return path

    def entries(self) -> list[tuple[Path, DeadLetter]]:
        """Every letter, oldest first."""
        if not self.directory.is_dir():
            return []
        return [(path, self.read(path)) for path in sorted(self.directory.glob("*.json"))]

    def read(self, path: Path) -> DeadLetter:
        """One letter; a DeadLetterError names the file if it is unreadable or invalid."""
        try:
            return DeadLetter.model_validate_json(path.read_bytes())
        except OSError as e:
            raise DeadLetterError(f"{path}: cannot read dead letter: {e.strerror}") from e
        except ValidationError as e:
            raise DeadLetterError(f"{path}: not a dead letter: {e.errors()[0]['msg']}") from e

    def remove(self, path: Path) -> None:
        """Delete a letter once it has been dealt with (e.g. replayed)."""
        try:
            path.unlink()
        except OSError as e:
            raise DeadLetterError(f"{path}: cannot remove dead letter: {e.strerror}") from e
