"""Signed read requests: who asks the receiver what waits for approval (``GET /approvals``).

The receiver answers the list of paused steps only to a person the policy lists, proven by a
signature with their own key (the key ``firebreak approve --key`` uses). The request names the
person, the time and what it reads; it is fresh for :data:`flows.identity.MAX_AGE`, and within
that window a copy of it reads the same list again (it can change nothing).

>>> key = Ed25519PrivateKey.generate()
>>> token = sign_read("alice", key)
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from flows.identity import MAX_AGE, MAX_SKEW, IdentityError, public_key_from_text, strict_b64decode
from policies import Policy

SCHEME = "Firebreak-Signed"  # Authorization: Firebreak-Signed TOKEN


class ReadRefusedError(ValueError):
    """The read request is not signed by a person the policy lists, or is not fresh."""


class ReadRequest(BaseModel):
    """What a read signature binds: who reads what, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: str
    signed_at: AwareDatetime
    reads: Literal["approvals"] = "approvals"

    def message(self) -> bytes:
        """The canonical bytes that are signed (sorted keys, no spaces)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


class SignedRead(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request: ReadRequest
    signature: str


def sign_read(person: str, key: Ed25519PrivateKey, now: datetime | None = None) -> str:
    """The ``Authorization`` token of ``person``'s request to list what waits for approval."""
    request = ReadRequest(person=person, signed_at=now or datetime.now(UTC))
    signature = base64.b64encode(key.sign(request.message())).decode()
    signed = SignedRead(request=request, signature=signature)
    return base64.urlsafe_b64encode(signed.model_dump_json().encode()).decode()


def check_read(token: str, *, policy: Policy, now: datetime) -> str:
    """The policy's person who signed ``token``; ReadRefusedError saying why when nobody did."""
    try:
        signed = SignedRead.model_validate_json(base64.urlsafe_b64decode(token.encode()))
        signature = strict_b64decode(signed.signature)
    except (binascii.Error, ValueError, ValidationError, IdentityError) as e:
        raise ReadRefusedError("not a signed read request") from e
    request = signed.request
    if request.signed_at > now + MAX_SKEW:
        raise ReadRefusedError("signed in the future")
    if now - request.signed_at > MAX_AGE:
        raise ReadRefusedError(f"stale: signed more than {MAX_AGE} ago")
    person = policy.person(request.person)
    if person is None or person.public_key is None:
        raise ReadRefusedError(f"{request.person} has no public_key under the policy's people")
    try:
        public_key_from_text(person.public_key).verify(signature, request.message())
    except (InvalidSignature, IdentityError) as e:
        raise ReadRefusedError(f"the signature is not {request.person}'s") from e
    return request.person
