"""Payloads intake did not turn into a started incident, kept so that nothing is lost silently.

One JSON file (mode 0600, in a 0700 directory) per kept payload: when it came, from which
source, why it was kept, the request headers with every credential removed, and the body. A
letter whose alert was parsed but could not be handed to Prefect carries the alert and is
``retryable``: ``firebreak alert replay`` starts it later.

The store is bounded so that neither a flood of junk nor a long Prefect outage fills the disk,
and so that junk cannot take the room of what must be replayed. Each letter has a
:class:`Standing`, in its file name:

- ``unauthenticated`` letters (the sender proved nothing) keep at most
  :data:`UNAUTHENTICATED_BODY_BYTES` of the body and share a small quota of their own;
- ``authenticated`` letters (not retryable) may use the store up to ``max_letters`` minus
  ``retry_reserve``;
- ``retryable`` letters may use all of it.

A letter about one alert occurrence (fingerprint and onset; firing and resolved apart) is
written once per standing: a sender retrying it updates that letter (``attempts``, the latest
reason) instead of adding one, and it carries the alert, not the request's whole body. Past a
bound, a letter is not written, and :meth:`DeadLetterStore.put` says so by returning None.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticSerializationError

from alerts.errors import DeadLetterError
from alerts.models import Alert

log = logging.getLogger(__name__)

UNAUTHENTICATED_BODY_BYTES = 4096
"""The most of an unauthenticated request's body a letter keeps."""

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


class Standing(StrEnum):
    """How far the sender got: decides which share of the store a letter may use."""

    UNAUTHENTICATED = "unauthenticated"
    AUTHENTICATED = "authenticated"
    RETRYABLE = "retryable"


class DeadLetter(BaseModel):
    """One kept payload."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    received_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    last_received_at: AwareDatetime | None = Field(default=None, description="Of the latest attempt.")
    attempts: int = Field(default=1, ge=1, description="Deliveries of this occurrence kept here.")
    source: str
    reason: Reason
    detail: str = ""
    retryable: bool = False
    authenticated: bool = Field(default=False, description="The sender proved who it is.")
    headers: dict[str, str] = Field(default_factory=dict, description="Credentials removed.")
    body: str = ""
    body_encoding: str = Field(default="utf-8", description='"utf-8" or "base64" (not text).')
    alert: Alert | None = Field(default=None, description="The parsed alert, when there was one.")

    def body_bytes(self) -> bytes:
        """The body as received (or as much of it as was kept)."""
        return base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode()

    @property
    def standing(self) -> Standing:
        """Which share of the store this letter uses."""
        if self.retryable:
            return Standing.RETRYABLE
        return Standing.AUTHENTICATED if self.authenticated else Standing.UNAUTHENTICATED

    def occurrence(self) -> str | None:
        """A file-name-safe key of the alert occurrence this letter is about, if any."""
        if self.alert is None:
            return None
        key = f"{self.standing}:{self.alert.status}:{self.alert.dedup_key}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


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
    authenticated: bool = False,
) -> DeadLetter:
    """Build a dead letter from a request, redacting its headers and encoding its body.

    An unauthenticated body is cut to :data:`UNAUTHENTICATED_BODY_BYTES`; a letter about an
    alert keeps the alert (whose ``raw`` is the sender's own words about it), not the body.
    """
    if alert is not None:
        body = b""
    elif not (authenticated or retryable):
        body = body[:UNAUTHENTICATED_BODY_BYTES]
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    dead = DeadLetter(
        source=source,
        reason=reason,
        detail=detail,
        retryable=retryable,
        authenticated=authenticated or retryable,
        headers=redact_headers(headers),
        body=text,
        body_encoding=encoding,
        alert=alert,
    )
    occurrence = dead.occurrence()
    # Every delivery of one occurrence is the same letter, under the same id.
    return dead if occurrence is None else dead.model_copy(update={"id": occurrence})


class Unreadable(BaseModel):
    """A file in the store that is not a readable letter, and why."""

    model_config = ConfigDict(frozen=True)

    path: Path
    problem: str


class DeadLetterStore:
    """A directory of dead letters. Creates the directory on first write, not on construction.

    ``max_letters`` bounds the whole store, ``unauthenticated_max`` the unauthenticated letters,
    and ``retry_reserve`` (default a quarter of ``max_letters``) is kept free for retryable ones.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_letters: int = 10_000,
        unauthenticated_max: int = 100,
        retry_reserve: int | None = None,
    ) -> None:
        self.directory = directory
        self.max_letters = max_letters
        self.unauthenticated_max = unauthenticated_max
        self.retry_reserve = max_letters // 4 if retry_reserve is None else retry_reserve
        self._lock = threading.Lock()

    def put(self, dead: DeadLetter) -> Path | None:
        """Write the letter atomically, or add an attempt to its occurrence's letter; None (and a
        warning) when its share of the store is full."""
        try:
            with self._lock:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                occurrence = dead.occurrence()
                earlier = sorted(self.directory.glob(f"*-{occurrence}.json")) if occurrence else []
                if earlier:
                    return self._again(earlier[0], dead)
                if not self._room_for(dead.standing):
                    log.warning(
                        "dead-letter store %s has no room for %s letters; dropped a %s letter",
                        self.directory,
                        dead.standing,
                        dead.reason,
                    )
                    return None
                source = re.sub(r"[^a-z0-9-]", "_", dead.source.lower())[:32]
                stamp = f"{dead.received_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
                name = f"{stamp}-{dead.standing}-{source}-{dead.reason}-{occurrence or dead.id[:8]}.json"
                path = self.directory / name
                _write_private(path, _serialised(dead))
        except OSError as e:
            raise DeadLetterError(f"cannot write dead letter to {self.directory}: {e.strerror}") from e
        return path

    def _again(self, path: Path, dead: DeadLetter) -> Path:
        """Count another delivery of the same occurrence in its letter."""
        try:
            first = self.read(path)
        except DeadLetterError:
            first = dead.model_copy(update={"attempts": 0})
        update = {
            "attempts": first.attempts + 1,
            "last_received_at": dead.received_at,
            "reason": dead.reason,
            "detail": dead.detail,
        }
        _write_private(path, _serialised(first.model_copy(update=update)))
        return path

    def _room_for(self, standing: Standing) -> bool:
        counts = Counter(_standing_of(path) for path in self.directory.glob("*.json"))
        total = sum(counts.values())
        if standing is Standing.RETRYABLE:
            return total < self.max_letters
        if (
            standing is Standing.UNAUTHENTICATED
            and counts[Standing.UNAUTHENTICATED] >= self.unauthenticated_max
        ):
            return False
        return total - counts[Standing.RETRYABLE] < self.max_letters - self.retry_reserve

    def scan(self) -> tuple[list[tuple[Path, DeadLetter]], list[Unreadable]]:
        """Every readable letter, oldest first, and every file that is not a readable letter."""
        if not self.directory.is_dir():
            return [], []
        letters, unreadable = [], []
        for path in sorted(self.directory.glob("*.json")):
            try:
                letters.append((path, self.read(path)))
            except DeadLetterError as e:
                unreadable.append(Unreadable(path=path, problem=str(e)))
        return letters, unreadable

    def entries(self) -> list[tuple[Path, DeadLetter]]:
        """Every readable letter, oldest first (:meth:`scan` also names the unreadable ones)."""
        return self.scan()[0]

    def read(self, path: Path) -> DeadLetter:
        """One letter; a DeadLetterError names the file if it is unreadable or invalid."""
        try:
            return DeadLetter.model_validate_json(path.read_bytes())
        except OSError as e:
            raise DeadLetterError(f"{path}: cannot read dead letter: {e.strerror}") from e
        except (ValidationError, RecursionError) as e:
            why = e.errors()[0]["msg"] if isinstance(e, ValidationError) else "nested too deeply"
            raise DeadLetterError(f"{path}: not a dead letter: {why}") from e

    def remove(self, path: Path) -> None:
        """Delete a letter once it has been dealt with (e.g. replayed)."""
        try:
            path.unlink()
        except OSError as e:
            raise DeadLetterError(f"{path}: cannot remove dead letter: {e.strerror}") from e


def _standing_of(path: Path) -> Standing | None:
    """The standing written in a letter's file name (``<time>-<standing>-...``); None for files
    from before standings, which count only toward the total."""
    parts = path.name.split("-", 2)
    try:
        return Standing(parts[1]) if len(parts) > 2 else None
    except ValueError:
        return None


def _serialised(dead: DeadLetter) -> str:
    try:
        return dead.model_dump_json(indent=2)
    except (PydanticSerializationError, RecursionError) as e:
        raise DeadLetterError(f"cannot serialise the {dead.reason} letter from {dead.source}: {e}") from e


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)
