"""The test suite's people and their signing keys: deterministic (derived from the name), so a
failure reproduces, and never used outside tests."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.identity import public_key_text

PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank")


def key_of(name: str) -> Ed25519PrivateKey:
    """``name``'s test signing key (the same every run)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"firebreak-test:{name}".encode()).digest())


def with_people(policy: dict[str, Any], names: tuple[str, ...] = PEOPLE) -> dict[str, Any]:
    """``policy`` data with each name's public key listed under ``people`` (kept if present)."""
    people = {name: {"public_key": public_key_text(key_of(name).public_key())} for name in names}
    return {**policy, "people": {**people, **(policy.get("people") or {})}}
